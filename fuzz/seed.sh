#!/bin/sh
# Seeds fuzz/corpus/<target>/ from this repository's own files (the corpus
# itself is not committed): front matter of the sample articles, the
# scraped-page fixtures, and small RSS, Atom and JSON feeds.
set -eu
cd "$(dirname "$0")/.."
mkdir -p fuzz/corpus/front_matter fuzz/corpus/text_page fuzz/corpus/feed_source
for file in articles/*.md tests/fixtures/site/articles/*.md; do
    [ -f "$file" ] || continue
    # The text between the +++ fences.
    awk 'NR == 1 && $0 == "+++" { on = 1; next } on && $0 == "+++" { exit } on' "$file" \
        > "fuzz/corpus/front_matter/$(basename "$file" .md)"
done
cp tests/fixtures/pages/*.txt fuzz/corpus/text_page/
cat > fuzz/corpus/feed_source/rss.xml <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Partner</title><link>https://partner.example.org/</link>
<item><title>Rail link opens</title><link>https://partner.example.org/rail</link>
<guid>rail-1</guid><pubDate>Fri, 20 Nov 2026 09:30:00 +0800</pubDate>
<description>&lt;p&gt;The line &lt;b&gt;opens&lt;/b&gt;.&lt;/p&gt;</description></item>
</channel></rss>
XML
cat > fuzz/corpus/feed_source/atom.xml <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Partner</title><id>urn:partner</id>
<updated>2026-11-20T09:30:00+08:00</updated>
<entry><title>成渝新铁路通车</title><id>urn:rail</id><link href="/rail"/>
<published>2026-11-20T09:30:00+08:00</published><updated>2026-11-20T09:30:00+08:00</updated>
<content type="html">&lt;p&gt;新线路。&lt;/p&gt;</content></entry></feed>
XML
cat > fuzz/corpus/feed_source/feed.json <<'JSON'
{"version":"https://jsonfeed.org/version/1.1","title":"Partner","items":[{"id":"1",
"url":"https://partner.example.org/a","title":"A","content_html":"<p>A</p>",
"date_published":"2026-11-20T09:30:00+08:00"}]}
JSON
