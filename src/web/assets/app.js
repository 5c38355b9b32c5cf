// sohoa clerk pages: the only script. Lets the clerk drag the four page corners over the
// original photo; the positions go, in image pixels, into the hidden inputs of the
// section's corners form. Everything else works without script.
"use strict";
document.querySelectorAll("section.page").forEach(function (section) {
  var svg = section.querySelector("svg.outline");
  var form = section.querySelector("form.corners");
  if (!svg || !form) return;
  var polygon = svg.querySelector("polygon");
  var corners = svg.querySelectorAll("circle.corner");
  var dragging = null;

  function toImage(event) {
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    var p = point.matrixTransform(svg.getScreenCTM().inverse());
    var box = svg.viewBox.baseVal;
    return { x: Math.max(0, Math.min(box.width, p.x)), y: Math.max(0, Math.min(box.height, p.y)) };
  }

  function redraw() {
    var points = [];
    corners.forEach(function (c) {
      var i = c.getAttribute("data-corner");
      var x = c.getAttribute("cx"), y = c.getAttribute("cy");
      points.push(x + "," + y);
      form.elements["c" + i + "x"].value = Math.round(x);
      form.elements["c" + i + "y"].value = Math.round(y);
    });
    polygon.setAttribute("points", points.join(" "));
  }

  corners.forEach(function (corner) {
    corner.addEventListener("pointerdown", function (event) {
      dragging = corner;
      corner.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    corner.addEventListener("pointermove", function (event) {
      if (dragging !== corner) return;
      var p = toImage(event);
      corner.setAttribute("cx", p.x.toFixed(0));
      corner.setAttribute("cy", p.y.toFixed(0));
      redraw();
    });
    function stop() { dragging = null; }
    corner.addEventListener("pointerup", stop);
    corner.addEventListener("pointercancel", stop);
  });
});
