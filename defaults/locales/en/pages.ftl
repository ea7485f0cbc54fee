# The pages `gazette serve` shows readers.
# $name: the reader's name (their address when the list has none);
# $email: their address.
page-unsubscribe-title = Unsubscribe
page-unsubscribe-question = Unsubscribe { $name } <{ $email }> from { site-title }?
page-unsubscribe-button = Unsubscribe
page-unsubscribed-title = You are unsubscribed
page-unsubscribed-text = { $email } will get no more mail from { site-title }.
page-bad-link-title = This link does not work
page-bad-link-text = The link is incomplete or was changed on the way. Use the link in your latest email from { site-title }.
page-not-found-title = Page not found
page-not-found-text = There is no page at this address.
page-error-title = Something went wrong
page-error-text = Your request was not completed. Please try again in a few minutes.
page-unsubscribe-preferences = Change what you receive instead
page-preferences-title = Your preferences
page-preferences-intro = Choose how { site-title } writes to { $email }.
page-preferences-name = Name
page-preferences-language = Language of your digest
page-preferences-topics = Topics
page-preferences-topics-hint = Tick none to get every story.
page-preferences-save = Save
page-preferences-unsubscribe = Unsubscribe instead
page-preferences-saved-title = Preferences saved
page-preferences-saved-text = Your next digest to { $email } follows them.
