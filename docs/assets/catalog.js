// The home page's catalog filters: service, tag and level narrow the cards at once (no reload), and the choice
// lives in the URL's query string (?service=SQS&level=beginner), so a filtered view can be bookmarked and shared.
(function () {
  "use strict";
  function setup() {
    var form = document.querySelector("[data-catalog-filters]");
    if (!form || form.dataset.ready) return;
    form.dataset.ready = "1";
    var selects = Array.prototype.slice.call(form.querySelectorAll("select[data-filter]"));
    var cards = Array.prototype.slice.call(document.querySelectorAll(".catalog-card"));
    var count = form.querySelector("[data-catalog-count]");
    var empty = document.querySelector("[data-catalog-empty]");

    function matches(card, name, value) {
      if (!value) return true;
      if (name === "level") return card.dataset.level === value;
      var list = (name === "service" ? card.dataset.services : card.dataset.tags).split("|");
      return list.indexOf(value) !== -1;
    }

    function apply(updateUrl) {
      var shown = 0;
      cards.forEach(function (card) {
        var visible = selects.every(function (s) { return matches(card, s.dataset.filter, s.value); });
        card.hidden = !visible;
        if (visible) shown += 1;
      });
      document.querySelectorAll(".catalog-group").forEach(function (group) {
        group.hidden = !group.querySelector(".catalog-card:not([hidden])");
      });
      count.textContent = shown === cards.length ? cards.length + " patterns" : shown + " of " + cards.length + " patterns";
      empty.hidden = shown !== 0;
      if (updateUrl) {
        var params = new URLSearchParams(window.location.search);
        selects.forEach(function (s) {
          if (s.value) params.set(s.dataset.filter, s.value); else params.delete(s.dataset.filter);
        });
        var query = params.toString();
        history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
      }
    }

    function fromUrl() {
      var params = new URLSearchParams(window.location.search);
      selects.forEach(function (s) {
        var wanted = params.get(s.dataset.filter) || "";
        var known = Array.prototype.some.call(s.options, function (o) { return o.value === wanted; });
        s.value = known ? wanted : "";
      });
      apply(false);
    }

    selects.forEach(function (s) { s.addEventListener("change", function () { apply(true); }); });
    form.addEventListener("reset", function () { setTimeout(function () { apply(true); }, 0); });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    window.addEventListener("popstate", fromUrl);
    fromUrl();
  }
  if (typeof document$ !== "undefined") document$.subscribe(setup);
  else document.addEventListener("DOMContentLoaded", setup);
})();
