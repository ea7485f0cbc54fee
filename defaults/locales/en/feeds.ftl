# Strings that appear in the RSS, Atom and JSON feeds.
feed-title = { site-title }
feed-description = { site-description }
# Closes an item's content when feeds carry summaries only.
feed-read-more = Read more
# $date: the story's publication date, already formatted for the locale.
feed-published-on = Published { $date }
# A tag's own feed; $tag: the tag's name in this language.
feed-tag-title = { feed-title } — { $tag }
feed-tag-description = Stories tagged “{ $tag }” from { site-title }
# The page feeds/<locale>/index.html listing every feed.
feed-index-title = { feed-title }: feeds
feed-index-intro = Follow these feeds in any feed reader: the whole site, or one tag.
# Shown when a browser opens rss.xml or atom.xml (through feed.xsl).
feed-stylesheet-intro = This is a feed: copy this page's address into a feed reader to follow it.
