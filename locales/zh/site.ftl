# 网站名称与简介，覆盖 gazette 内置的 site.ftl。
site-title = 成渝简报
site-description = 成渝地区双城经济圈新闻，中英双语
