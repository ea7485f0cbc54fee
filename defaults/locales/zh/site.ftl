# 网站名称与简介。站点可在 locales/zh/site.ftl 中覆盖此文件。
site-title = 公报
site-description = 本社新闻
