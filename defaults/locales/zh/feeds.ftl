# RSS、Atom 与 JSON 订阅源中出现的文字。
feed-title = { site-title }
feed-description = { site-description }
# 订阅源只含摘要时，放在条目内容末尾。
feed-read-more = 阅读全文
# $date：文章发布日期，已按本地格式排好。
feed-published-on = 发布于{ $date }
# 单个标签的订阅源；$tag：该标签在本语言中的名称。
feed-tag-title = { feed-title } — { $tag }
feed-tag-description = { site-title }中标为“{ $tag }”的报道
# 列出全部订阅源的页面 feeds/<locale>/index.html。
feed-index-title = { feed-title }：订阅源
feed-index-intro = 用任意阅读器订阅：全站，或单个标签。
# 浏览器打开 rss.xml 或 atom.xml 时显示（经由 feed.xsl）。
feed-stylesheet-intro = 这是一个订阅源：把本页地址复制到阅读器中即可订阅。
