// Injected into a page by tests/contrast.rs: for every visible text node,
// the WCAG 2 contrast ratio of its computed colour against the background
// it is drawn on, written as JSON into <pre id="gazette-contrast">.
(function () {
  function parse(color) {
    var m = color.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    var p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  }
  function channel(c) {
    c = c / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  }
  function luminance(c) {
    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  }
  function background(el) {
    for (; el; el = el.parentElement) {
      var bg = parse(getComputedStyle(el).backgroundColor);
      if (bg && bg.a > 0) return bg;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  }
  function visible(el) {
    if (el.getClientRects().length === 0) return false;
    for (; el; el = el.parentElement) {
      var s = getComputedStyle(el);
      if (s.visibility === 'hidden' || s.opacity === '0' || s.display === 'none') return false;
      if (parseFloat(s.fontSize) === 0 || s.maxHeight === '0px') return false;
    }
    return true;
  }
  var out = [];
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (var node = walker.nextNode(); node; node = walker.nextNode()) {
    var el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest('script, style, #gazette-contrast')) continue;
    if (!visible(el)) continue;
    var fg = parse(getComputedStyle(el).color);
    var bg = background(el);
    var l1 = luminance(fg), l2 = luminance(bg);
    out.push({
      text: node.textContent.trim().slice(0, 60),
      color: getComputedStyle(el).color,
      background: 'rgb(' + bg.r + ', ' + bg.g + ', ' + bg.b + ')',
      ratio: (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05)
    });
  }
  var pre = document.createElement('pre');
  pre.id = 'gazette-contrast';
  // Base64, so the DOM dump's escaping cannot touch the JSON.
  pre.textContent = btoa(unescape(encodeURIComponent(JSON.stringify({
    dark: matchMedia('(prefers-color-scheme: dark)').matches,
    nodes: out
  }))));
  document.body.appendChild(pre);
})();
