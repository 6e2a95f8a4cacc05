// The redacted copy's page: outline each face found on its picture, and let the owner
// drag over the paused preview to fill in "cover another area" (seconds, then pixels of
// the clip's own frame). Without this script the outlines are missing and the area is typed.
(function () {
  "use strict";
  document.querySelectorAll(".outline[data-box]").forEach(function (el) {
    var b = el.dataset.box.split(",").map(Number);
    el.style.left = b[0] * 100 + "%";
    el.style.top = b[1] * 100 + "%";
    el.style.width = b[2] * 100 + "%";
    el.style.height = b[3] * 100 + "%";
    el.hidden = false;
  });
  var video = document.getElementById("preview");
  var field = document.getElementById("f-boxes");
  if (!video || !field) return;
  var drawn = video.parentElement.querySelector(".drawn");
  var width = Number(field.dataset.width), height = Number(field.dataset.height);
  var start = null, dragged = false;
  // While paused, a finger on the video draws instead of scrolling the page.
  function touch() { video.style.touchAction = video.paused ? "none" : "auto"; }
  video.addEventListener("pause", touch);
  video.addEventListener("play", touch);
  touch();
  // A drag is not a click: the player must not start playing when it ends.
  video.addEventListener("click", function (event) {
    if (dragged) { event.preventDefault(); dragged = false; }
  }, true);
  function point(event) {
    var r = video.getBoundingClientRect();
    return {x: Math.min(Math.max(event.clientX - r.left, 0), r.width),
            y: Math.min(Math.max(event.clientY - r.top, 0), r.height), r: r};
  }
  function show(a, b) {
    drawn.style.left = Math.min(a.x, b.x) + "px";
    drawn.style.top = Math.min(a.y, b.y) + "px";
    drawn.style.width = Math.abs(a.x - b.x) + "px";
    drawn.style.height = Math.abs(a.y - b.y) + "px";
    drawn.hidden = false;
  }
  video.addEventListener("pointerdown", function (event) {
    if (!video.paused) return;  // a click on a playing video is the player's own
    start = point(event);
    dragged = false;
    event.preventDefault();
  });
  video.addEventListener("pointermove", function (event) {
    if (start) { show(start, point(event)); dragged = true; }
  });
  window.addEventListener("pointerup", function (event) {
    if (!start) return;
    var end = point(event), r = end.r;
    var sx = width / r.width, sy = height / r.height;
    var x = Math.round(Math.min(start.x, end.x) * sx), y = Math.round(Math.min(start.y, end.y) * sy);
    var w = Math.round(Math.abs(start.x - end.x) * sx), h = Math.round(Math.abs(start.y - end.y) * sy);
    start = null;
    if (w < 4 || h < 4) { drawn.hidden = true; return; }
    var from = Math.max(0, video.currentTime - 1), to = video.currentTime + 2;
    field.value = [from.toFixed(1), to.toFixed(1), x, y, w, h].join(",");
    field.focus({preventScroll: true});
  });
})();
