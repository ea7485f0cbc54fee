# The site's name and tagline. Sites override this file in locales/en/site.ftl.
site-title = Gazette
site-description = News from our newsroom
