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
page-subscribe-title = Subscribe to { site-title }
page-subscribe-intro = A digest of our stories by email, in the language you choose. We first send you a link to confirm.
page-subscribe-email = Email address
page-subscribe-name = Name (optional)
page-subscribe-button = Subscribe
page-subscribe-bad-address = Please enter an email address such as name@example.org.
page-subscribe-sent-title = Check your inbox
page-subscribe-sent-text = If { $email } can receive mail, a message with a confirmation link is on its way. Nothing more is sent until you open it.
page-too-many-title = Too many requests
page-too-many-text = Please wait an hour and try again.
page-confirm-title = Confirm your subscription
page-confirm-question = Send the digest of { site-title } to { $email }?
page-confirm-button = Confirm
page-confirmed-title = You are subscribed
page-confirmed-text = { $email } gets the next digest of { site-title }.
page-confirmed-preferences = Change language or topics
page-confirm-expired-title = This link has expired
page-confirm-expired-text = Confirmation links work for { $days } days. Sign up again to get a new one.
# The confirmation email. $url: the confirmation link; $days: how long it works.
signup-mail-subject = Confirm your subscription to { site-title }
signup-mail-body =
    Hello,

    Someone, we hope you, asked for the digest of { site-title } at { $email }. To confirm, open this link and press the button:

    { $url }

    The link works for { $days } days. If you did not ask, ignore this email: you will get nothing more from us.
page-resubscribe-button = Subscribe again
page-resubscribed-title = Welcome back
page-resubscribed-text = { $email } gets the next digest of { site-title } again.
page-resubscribe-refused-title = We cannot subscribe this address again here
page-resubscribe-refused-text = Mail to { $email } was stopped for another reason (it bounced, or was reported). Write to the editors to have it restored.
