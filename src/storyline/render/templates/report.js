// Citations open the cited passage in place. One listener serves every citation; a panel is
// built only when asked for, from the source texts embedded once in #sl-sources. Every text is
// set through textContent, never parsed as markup.
(function () {
  "use strict";
  var holder = document.getElementById("sl-sources");
  if (!holder) { return; }
  var sources = JSON.parse(holder.textContent);
  var CONTEXT = 360;        // characters of context shown on each side of the cited span
  var unitIndexes = {};     // source id -> code-point to UTF-16 offset table (only when needed)

  // Briefing offsets count Unicode code points; JavaScript strings count UTF-16 units.
  function toUnits(id, text, offset) {
    if (!/[\uD800-\uDBFF]/.test(text)) { return offset; }
    var table = unitIndexes[id];
    if (!table) {
      table = [];
      for (var unit = 0; unit < text.length; unit++) {
        table.push(unit);
        var code = text.charCodeAt(unit);
        if (code >= 0xD800 && code <= 0xDBFF) { unit++; }
      }
      table.push(text.length);
      unitIndexes[id] = table;
    }
    return table[Math.min(offset, table.length - 1)];
  }

  function contextStart(text, start) {
    if (start <= CONTEXT) { return 0; }
    var floor = start - CONTEXT;
    var paragraph = text.lastIndexOf("\n\n", start);
    if (paragraph >= floor) { return paragraph + 2; }
    var space = text.indexOf(" ", floor);
    return space >= 0 && space < start ? space + 1 : floor;
  }

  function contextEnd(text, end) {
    if (text.length - end <= CONTEXT) { return text.length; }
    var ceiling = end + CONTEXT;
    var paragraph = text.indexOf("\n\n", end);
    if (paragraph >= 0 && paragraph <= ceiling) { return paragraph; }
    var space = text.lastIndexOf(" ", ceiling);
    return space > end ? space : ceiling;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function buildPanel(cite) {
    var id = cite.getAttribute("data-s");
    var source = sources[id];
    if (!source) { return null; }
    var text = source.text;
    var start = toUnits(id, text, parseInt(cite.getAttribute("data-a"), 10));
    var end = toUnits(id, text, parseInt(cite.getAttribute("data-b"), 10));
    var from = contextStart(text, start);
    var to = contextEnd(text, end);

    var panel = element("div", "reveal");
    panel.setAttribute("role", "region");
    panel.setAttribute("aria-label", "Cited passage from " + id);
    panel.setAttribute("data-key", id + ":" + start + ":" + end);

    var head = element("div", "reveal-head");
    var title = element("span");
    title.appendChild(element("strong", null, id + " · " + source.label));
    if (source.date) { title.appendChild(document.createTextNode(" · " + source.date)); }
    var close = element("button", "reveal-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Close the cited passage");
    head.appendChild(title);
    head.appendChild(close);

    var body = element("blockquote", "reveal-text");
    // An ellipsis marks a cut inside a paragraph; a cut at a paragraph break needs none.
    var cutBefore = from > 0 && text.slice(from - 2, from) !== "\n\n";
    var cutAfter = to < text.length && text.slice(to, to + 2) !== "\n\n";
    body.appendChild(document.createTextNode((cutBefore ? "… " : "") + text.slice(from, start)));
    body.appendChild(element("mark", null, text.slice(start, end)));
    body.appendChild(document.createTextNode(text.slice(end, to) + (cutAfter ? " …" : "")));

    var foot = element("div", "reveal-foot");
    var link = element("a", null, cite.getAttribute("href").charAt(0) === "#" ? "Source details" : "Open in the source viewer");
    link.href = cite.getAttribute("href");
    foot.appendChild(link);

    panel.appendChild(head);
    panel.appendChild(body);
    panel.appendChild(foot);
    return panel;
  }

  function hostOf(cite) {
    return cite.closest(".cite-host") || cite.parentNode;
  }

  function closePanel(panel) {
    var owner = panel.ownerCite;
    if (owner) { owner.setAttribute("aria-expanded", "false"); }
    panel.parentNode.removeChild(panel);
    return owner;
  }

  function toggle(cite) {
    var host = hostOf(cite);
    var open = host.querySelector(":scope > .reveal");
    if (open) {
      var previous = closePanel(open);
      if (previous === cite) { return; }
    }
    var panel = buildPanel(cite);
    if (!panel) { return; }
    panel.ownerCite = cite;
    host.appendChild(panel);
    cite.setAttribute("aria-expanded", "true");
  }

  document.addEventListener("click", function (event) {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) { return; }
    var target = event.target;
    if (!target.closest) { return; }
    var close = target.closest(".reveal-close");
    if (close) {
      var owner = closePanel(close.closest(".reveal"));
      if (owner) { owner.focus(); }
      return;
    }
    var cite = target.closest("a.cite");
    if (!cite) { return; }
    event.preventDefault();
    toggle(cite);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !document.activeElement) { return; }
    var panel = document.activeElement.closest && document.activeElement.closest(".reveal");
    var host = panel ? null : document.activeElement.closest && document.activeElement.closest(".cite-host");
    panel = panel || (host && host.querySelector(":scope > .reveal"));
    if (panel) {
      var owner = closePanel(panel);
      if (owner) { owner.focus(); }
    }
  });
})();
