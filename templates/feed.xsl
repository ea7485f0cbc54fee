<?xml version="1.0" encoding="utf-8"?>
<!-- Shows an RSS 2.0 or Atom 1.0 feed of gazette as a page when a browser
     opens it. @@LANG@@ and @@INTRO@@ are filled in per locale. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">
<xsl:output method="html" encoding="utf-8" doctype-system="about:legacy-compat"/>
<xsl:variable name="title" select="rss/channel/title | atom:feed/atom:title"/>
<xsl:template match="/">
<html lang="@@LANG@@">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<meta name="color-scheme" content="light dark"/>
<title><xsl:value-of select="$title"/></title>
<style>
body { font-family: system-ui, sans-serif; line-height: 1.5; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
li { margin: 0.5rem 0; }
</style>
</head>
<body>
<h1><xsl:value-of select="$title"/></h1>
<p class="intro">@@INTRO@@</p>
<ul class="items">
<xsl:for-each select="rss/channel/item">
<li><a href="{link}"><xsl:value-of select="title"/></a></li>
</xsl:for-each>
<xsl:for-each select="atom:feed/atom:entry">
<li><a href="{atom:link[@rel='alternate'][1]/@href}"><xsl:value-of select="atom:title"/></a></li>
</xsl:for-each>
</ul>
</body>
</html>
</xsl:template>
</xsl:stylesheet>
