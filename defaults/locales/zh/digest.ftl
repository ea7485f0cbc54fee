# 邮件摘要中的文字。主题与纯文本部分是纯文本：这些包已关闭隔离标记。

# $date：摘要日期，已按本地格式排好。
digest-subject = { site-title }：{ $date }
# 邮件客户端在主题后显示的预览文字。$title：最新文章的标题。
digest-preheader = { site-title }最新：{ $title }
# $name：订阅者的称呼。
digest-greeting = { $name }，您好：
# 订阅者未留称呼时使用。
digest-greeting-anonymous = 您好：
# $count：本期摘要中的新文章数。中文没有单复数之分。
digest-intro = { $count ->
   *[other] { $count } 篇新文章
}
# $minutes：预计阅读时间，至少 1 分钟。
digest-reading-time = { $minutes ->
   *[other] 阅读约 { $minutes } 分钟
}
# 文章没有本语言译本、改用其他语言版本时的标注。
# $language：所显示版本的语言键（如 "en"）。
digest-untranslated = { $language ->
    [en] 仅有英文版
    [zh] 仅有中文版
   *[other] 仅有原文版
}
# 摘要未列出全部新文章时，指向网站的链接。
digest-more-on-web = 在网站上查看更多文章
digest-footer-why = 您收到这封邮件，是因为您订阅了{ site-title }。
digest-unsubscribe = 退订
digest-view-in-browser = 在浏览器中查看
# 简报的公开网页版、简报存档和简报订阅源（没有问候语或个人页脚：任何人都可阅读）。
# $date：简报日期（长格式）。
web-copy-title = { site-title }：{ $date }简报
web-copy-feeds = 用阅读器订阅
web-copy-archive = 全部简报
web-copy-archive-title = { site-title }：全部简报
# 本语言的自称，用于其他语言页面上的链接。
web-copy-language = 中文
digest-feed-title = { site-title }：简报
digest-feed-description = { site-title }通过电子邮件发出的每一期简报。
web-copy-subscribe = 通过电子邮件接收简报
