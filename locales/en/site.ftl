# The site's name and tagline, replacing gazette's built-in site.ftl.
site-title = Chengdu–Chongqing Brief
site-description = News on the Chengdu–Chongqing Economic Circle, in English and Chinese
