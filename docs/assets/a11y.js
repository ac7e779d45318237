// A table or code block that scrolls sideways must be reachable by keyboard (WCAG 2.1.1): give every scrolling
// wrapper a tab stop and a name, and take them away again once it no longer scrolls.
(function () {
  "use strict";
  function label(wrapper) {
    var heading = null;
    for (var node = wrapper.previousElementSibling; node && !heading; node = node.previousElementSibling) {
      if (/^H[1-6]$/.test(node.tagName)) heading = node;
    }
    return heading ? "Table: " + heading.textContent.replace("¶", "").trim() + " (scrolls sideways)" : "Scrollable table";
  }
  function update() {
    document.querySelectorAll(".md-typeset__scrollwrap").forEach(function (wrapper) {
      if (wrapper.scrollWidth > wrapper.clientWidth + 1) {
        wrapper.setAttribute("tabindex", "0");
        wrapper.setAttribute("role", "region");
        wrapper.setAttribute("aria-label", label(wrapper));
      } else if (wrapper.getAttribute("tabindex") === "0") {
        wrapper.removeAttribute("tabindex");
        wrapper.removeAttribute("role");
        wrapper.removeAttribute("aria-label");
      }
    });
  }
  if (typeof document$ !== "undefined") document$.subscribe(update);
  else document.addEventListener("DOMContentLoaded", update);
  window.addEventListener("resize", update);
})();
