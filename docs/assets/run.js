// The "Run it" panel: with the local companion of `make serve`, deploy, run and destroy the page's pattern in the
// local sandbox and stream the command's output into the page; without it, the panel shows the commands only.
(function () {
  "use strict";
  function setup() {
    var companion = window.AWSPATTERNS_COMPANION;
    if (!companion) return;
    document.querySelectorAll("[data-run-panel]").forEach(function (panel) {
      if (panel.dataset.ready) return;
      panel.dataset.ready = "1";
      var live = panel.querySelector("[data-run-live]");
      var buttons = Array.prototype.slice.call(live.querySelectorAll("button[data-command]"));
      var progress = live.querySelector("progress");
      var status = live.querySelector("[data-run-status]");
      var output = live.querySelector("[data-run-output]");
      var error = live.querySelector("[data-run-error]");
      live.hidden = false;

      function busy(on) {
        buttons.forEach(function (b) { b.disabled = on; });
        progress.hidden = !on;
        panel.setAttribute("aria-busy", on ? "true" : "false");
      }
      function fail(message) {
        error.textContent = message;
        error.hidden = false;
      }

      function run(command) {
        var started = Date.now();
        var lines = 0;
        var label = "patterns " + command + " " + panel.dataset.slug;
        var timer = setInterval(tick, 1000);
        function tick(last) {
          var seconds = Math.round((Date.now() - started) / 1000);
          status.textContent = label + ": running, " + seconds + " s, " + lines + " lines" + (last ? " (" + last + ")" : "");
        }
        function done(text, ok) {
          clearInterval(timer);
          busy(false);
          status.textContent = text;
          status.dataset.state = ok ? "ok" : "failed";
        }
        function handle(event) {
          if (event.type === "start") { output.textContent += "$ " + event.command + "\n"; tick(); }
          else if (event.type === "line") {
            lines += 1;
            output.textContent += event.text + "\n";
            output.scrollTop = output.scrollHeight;
            tick(event.text.slice(0, 60));
          } else if (event.type === "error") { fail(event.message); done(label + ": not started", false); }
          else if (event.type === "exit") {
            var seconds = Math.round((Date.now() - started) / 1000);
            done(label + ": " + (event.code === 0 ? "finished" : "failed with exit status " + event.code) + " after " + seconds + " s", event.code === 0);
          }
        }

        error.hidden = true;
        status.dataset.state = "running";
        output.textContent = "";
        busy(true);
        tick();
        fetch(companion.api, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ slug: panel.dataset.slug, command: command })
        }).then(function (response) {
          if (!response.ok) {
            return response.json().then(function (body) { fail(body.error); done(label + ": refused", false); });
          }
          var reader = response.body.getReader();
          var decoder = new TextDecoder();
          var buffer = "";
          function pump() {
            return reader.read().then(function (chunk) {
              if (chunk.done) {
                if (status.dataset.state === "running") { fail("The companion closed the stream early."); done(label + ": interrupted", false); }
                return;
              }
              buffer += decoder.decode(chunk.value, { stream: true });
              var parts = buffer.split("\n");
              buffer = parts.pop();
              parts.filter(Boolean).forEach(function (line) { handle(JSON.parse(line)); });
              return pump();
            });
          }
          return pump();
        }).catch(function () {
          fail("The local companion did not answer: is `make serve` still running?");
          done(label + ": not reachable", false);
        });
      }

      buttons.forEach(function (button) {
        button.addEventListener("click", function () { run(button.dataset.command); });
      });
    });
  }
  if (typeof document$ !== "undefined") document$.subscribe(setup);
  else document.addEventListener("DOMContentLoaded", setup);
})();
