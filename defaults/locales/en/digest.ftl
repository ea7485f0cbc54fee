# Strings of the email digest. Subjects and the text part are plain text:
# the bundles have isolation marks turned off.

# $date: the digest's date, already formatted for the locale.
digest-subject = { site-title }: { $date }
# Shown by mail clients after the subject. $title: the newest story's title.
digest-preheader = New on { site-title }: { $title }
# $name: the subscriber's display name.
digest-greeting = Hello { $name },
# Used when the subscriber gave no name.
digest-greeting-anonymous = Hello,
# $count: how many new stories the digest has for this subscriber.
digest-intro = { $count ->
    [one] { $count } new story
   *[other] { $count } new stories
}
# $minutes: estimated reading time, at least 1.
digest-reading-time = { $minutes ->
    [one] { $minutes } min read
   *[other] { $minutes } min read
}
# Marks a story shown in another language because it has no translation.
# $language: the locale key of the version shown (e.g. "zh").
digest-untranslated = { $language ->
    [en] English only
    [zh] Chinese only
   *[other] Original language only
}
# Links to the site when the digest does not show every new story.
digest-more-on-web = More stories on the web
digest-footer-why = You are receiving this email because you subscribed to { site-title }.
digest-unsubscribe = Unsubscribe
digest-view-in-browser = View in your browser
# The public web copy of a digest, the digest archive and the feed of
# digests (no greeting or personal footer: anyone may read these).
# $date: the digest's date, long form.
web-copy-title = { site-title }: digest of { $date }
web-copy-feeds = Follow in a feed reader
web-copy-archive = All digests
web-copy-archive-title = { site-title }: all digests
# This language's name in itself, for links from the other languages' pages.
web-copy-language = English
digest-feed-title = { site-title }: digests
digest-feed-description = Every digest of { site-title }, as it went out by email.
web-copy-subscribe = Get the digest by email
