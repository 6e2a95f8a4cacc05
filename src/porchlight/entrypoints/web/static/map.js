// Maps, as progressive enhancement over fields and words that work without them.
//
// - <fieldset data-map-picker>: a map above its latitude and longitude inputs. Clicking or
//   tapping the map (or dragging the dot) fills the inputs, rounded to 5 decimals (about a
//   metre); typing in them moves the dot. With data-radius-field="<input id>" the circle
//   of that radius is drawn and follows the input. With data-reach-url, the number of
//   opted-in cameras the circle reaches is asked for (debounced) and shown in its
//   [data-reach] element.
// - <div data-map-view data-lat data-lon data-radius>: a map that only shows a place and
//   its circle (a request's area).
// - <div data-map-feed data-lat data-lon data-radius>: the Neighbors feed's circle with a
//   marker for each post listed on the page ([data-feed-post] elements with data-lat,
//   data-lon, data-title and data-href), at the post's shown (cell-centre) point; a
//   marker's popup links to the post. Posts at the same point share a marker.
//
// The tile server, its attribution and the zoom come from <body data-map-*>. Without a
// tile URL, or when tiles fail to load, the dot and the circle are drawn on a plain
// background and a note says so. The maps are hidden from assistive technology and the
// keyboard: the inputs and the captions carry the same information.
"use strict";
(function () {
  if (!window.L) { return; }
  var body = document.body;
  var config = {
    tiles: body.getAttribute("data-map-tiles") || "",
    attribution: body.getAttribute("data-map-attribution") || "",
    maxZoom: parseInt(body.getAttribute("data-map-max-zoom"), 10) || 19,
    zoom: parseInt(body.getAttribute("data-map-zoom"), 10) || 13,
    center: parsePair(body.getAttribute("data-map-center"))
  };
  var PLACES = 5;
  var DOT = { radius: 7, weight: 2, color: "#7a3e00", fillColor: "#f0a030", fillOpacity: 1 };
  var AREA = { weight: 2, color: "#b35c00", fillColor: "#f0a030", fillOpacity: 0.15,
               interactive: false };

  function parsePair(text) {
    var parts = (text || "").split(",");
    if (parts.length !== 2) { return null; }
    return place(parts[0], parts[1]);
  }

  function place(latText, lonText) {
    var lat = Number(String(latText).trim()), lon = Number(String(lonText).trim());
    if (String(latText).trim() === "" || String(lonText).trim() === "") { return null; }
    if (!isFinite(lat) || !isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      return null;
    }
    return L.latLng(lat, lon);
  }

  function escapeText(text) {
    var holder = document.createElement("span");
    holder.textContent = text;
    return holder.innerHTML;
  }

  function addNote(element, text) {
    var note = document.createElement("p");
    note.className = "map-note";
    note.setAttribute("data-testid", "map-note");
    note.textContent = text;
    element.parentNode.insertBefore(note, element.nextSibling);
  }

  function addTiles(map, element) {
    if (!config.tiles) {
      addNote(element, "No background map on this server: the place and the circle are " +
              "drawn on a plain background.");
      return;
    }
    var layer = L.tileLayer(config.tiles, {
      maxZoom: config.maxZoom, attribution: escapeText(config.attribution)
    });
    var noted = false;
    layer.on("tileerror", function () {
      if (noted) { return; }
      noted = true;
      element.classList.add("map-no-tiles");
      addNote(element, "The background map is unavailable right now: the place and the " +
              "circle are drawn without it.");
    });
    layer.addTo(map);
  }

  // The inputs are the accessible way in: keep the map out of the tab order and the
  // accessibility tree (its zoom buttons are links Leaflet makes focusable).
  function keepOutOfTabOrder(element) {
    element.setAttribute("aria-hidden", "true");
    element.querySelectorAll("a, [tabindex]").forEach(function (node) {
      node.setAttribute("tabindex", "-1");
    });
  }

  function baseMap(element) {
    var map = L.map(element, { keyboard: false, maxZoom: config.maxZoom });
    map.attributionControl.setPrefix(false);
    addTiles(map, element);
    keepOutOfTabOrder(element);
    map.on("layeradd", function () { keepOutOfTabOrder(element); });
    return map;
  }

  function startView(map, fieldset) {
    var center = parsePair(fieldset.getAttribute("data-map-center")) || config.center;
    if (center) { map.setView(center, config.zoom); } else { map.setView([20, 0], 2); }
  }

  function view(element) {
    var at = place(element.getAttribute("data-lat"), element.getAttribute("data-lon"));
    if (!at) { return; }
    var radius = Number(element.getAttribute("data-radius"));
    var map = baseMap(element);
    if (radius > 0) {
      map.fitBounds(at.toBounds(2 * radius), { padding: [12, 12] });
      L.circle(at, L.extend({ radius: radius }, AREA)).addTo(map);
    } else {
      map.setView(at, Math.min(16, config.maxZoom));
    }
    L.circleMarker(at, L.extend({ interactive: false }, DOT)).addTo(map);
  }

  function feedMap(element) {
    var at = place(element.getAttribute("data-lat"), element.getAttribute("data-lon"));
    if (!at) { return; }
    var radius = Number(element.getAttribute("data-radius"));
    var map = baseMap(element);
    map.fitBounds(at.toBounds(2 * (radius > 0 ? radius : 1000)), { padding: [12, 12] });
    if (radius > 0) { L.circle(at, L.extend({ radius: radius }, AREA)).addTo(map); }
    var spots = {};
    document.querySelectorAll("[data-feed-post]").forEach(function (post) {
      var where = place(post.getAttribute("data-lat"), post.getAttribute("data-lon"));
      if (!where) { return; }
      var key = where.lat.toFixed(6) + "," + where.lng.toFixed(6);
      if (!spots[key]) { spots[key] = { at: where, links: [] }; }
      spots[key].links.push('<a href="' + escapeText(post.getAttribute("data-href")) + '">' +
        escapeText(post.getAttribute("data-title")) + "</a>");
    });
    Object.keys(spots).forEach(function (key) {
      var spot = spots[key];
      var marker = L.circleMarker(spot.at, L.extend({ className: "feed-marker" }, DOT));
      marker.bindPopup(spot.links.join("<br>")).addTo(map);
    });
    element.setAttribute("data-markers", String(Object.keys(spots).length));
  }

  function Picker(fieldset) {
    this.fieldset = fieldset;
    this.lat = fieldset.querySelector("input[name$='lat']");
    this.lon = fieldset.querySelector("input[name$='lon']");
    var radiusId = fieldset.getAttribute("data-radius-field");
    this.radius = radiusId ? document.getElementById(radiusId) : null;
    this.dot = null;
    this.circle = null;
  }

  Picker.prototype.start = function () {
    var self = this;
    var first = this.lat.closest(".field") || this.lat;
    var help = document.createElement("p");
    help.className = "hint";
    help.textContent = "Click or tap the map to set the place, or drag the dot. You can " +
      "also type the coordinates below.";
    var element = document.createElement("div");
    element.className = "map";
    element.setAttribute("data-testid", "map");
    first.parentNode.insertBefore(help, first);
    first.parentNode.insertBefore(element, first);
    this.map = baseMap(element);
    startView(this.map, this.fieldset);
    this.draw(true);
    this.map.on("click", function (event) { self.fill(event.latlng); });
    [this.lat, this.lon, this.radius].forEach(function (input) {
      if (!input) { return; }
      input.addEventListener("input", function () { self.draw(false); });
      input.addEventListener("change", function () { self.draw(true); });
    });
  };

  Picker.prototype.at = function () { return place(this.lat.value, this.lon.value); };

  Picker.prototype.metres = function () {
    var value = this.radius ? Number(this.radius.value) : NaN;
    return isFinite(value) && value > 0 ? value : null;
  };

  // Where the fields say, on the map; bring it into view when it is out of sight.
  Picker.prototype.draw = function (reframe) {
    var at = this.at(), metres = this.metres();
    if (!at) { this.clear(); return; }
    if (!this.dot) {
      this.dot = L.circleMarker(at, DOT).addTo(this.map);
      this.draggable(this.dot);
    }
    this.dot.setLatLng(at);
    if (metres && !this.circle) { this.circle = L.circle(at, L.extend({ radius: metres }, AREA)); }
    if (this.circle) {
      if (metres) { this.circle.setLatLng(at).setRadius(metres).addTo(this.map); }
      else { this.circle.remove(); this.circle = null; }
    }
    this.reveal(at, metres, reframe);
  };

  Picker.prototype.reveal = function (at, metres, reframe) {
    var wanted = metres ? at.toBounds(2 * metres) : L.latLngBounds(at, at);
    if (this.map.getBounds().contains(wanted) && !reframe) { return; }
    if (metres) { this.map.fitBounds(wanted, { padding: [12, 12] }); return; }
    if (!this.map.getBounds().contains(at) || this.map.getZoom() < 15) {
      this.map.setView(at, Math.max(this.map.getZoom(), Math.min(16, config.maxZoom)));
    }
  };

  Picker.prototype.clear = function () {
    if (this.dot) { this.dot.remove(); this.dot = null; }
    if (this.circle) { this.circle.remove(); this.circle = null; }
  };

  // The map's answer goes into the fields, as if typed (so listeners hear of it).
  Picker.prototype.fill = function (latlng) {
    var wrapped = latlng.wrap();
    this.lat.value = wrapped.lat.toFixed(PLACES);
    this.lon.value = wrapped.lng.toFixed(PLACES);
    [this.lat, this.lon].forEach(function (input) {
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
  };

  // Drag the dot with a mouse; on a touch screen, tapping the map moves it instead.
  Picker.prototype.draggable = function (dot) {
    var self = this, map = this.map;
    dot.on("mousedown", function (down) {
      L.DomEvent.stop(down.originalEvent);
      map.dragging.disable();
      function move(event) {
        dot.setLatLng(event.latlng);
        if (self.circle) { self.circle.setLatLng(event.latlng); }
      }
      function up() {
        map.off("mousemove", move);
        L.DomEvent.off(document, "mouseup", up);
        map.dragging.enable();
        self.fill(dot.getLatLng());
      }
      map.on("mousemove", move);
      L.DomEvent.on(document, "mouseup", up);
    });
  };

  // How many opted-in cameras the circle reaches: asked once typing or moving pauses.
  function reach(picker) {
    var url = picker.fieldset.getAttribute("data-reach-url");
    var out = picker.fieldset.querySelector("[data-reach]");
    if (!url || !out || !picker.radius) { return; }
    var timer = null, asked = "";
    function ask() {
      var at = picker.at(), metres = picker.metres();
      if (!at || !metres) { out.textContent = ""; asked = ""; return; }
      var query = "?lat=" + at.lat.toFixed(PLACES) + "&lon=" + at.lng.toFixed(PLACES) +
        "&radius_m=" + Math.round(metres);
      if (query === asked) { return; }
      asked = query;
      out.textContent = "Counting the opted-in cameras in this circle…";
      fetch(url + query, { credentials: "same-origin", headers: { accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (answer) {
            return { ok: response.ok, answer: answer };
          });
        })
        .then(function (result) {
          if (query !== asked) { return; }  // a newer question is on its way
          if (result.ok) {
            out.textContent = "About here (counted within " + result.answer.radius_m +
              " m of this ~200 m area, not your exact circle): " + result.answer.text + ".";
          } else {
            asked = "";
            out.textContent = (result.answer.error && result.answer.error.message) ||
              "The reach could not be counted.";
          }
        })
        .catch(function () {
          if (query === asked) { asked = ""; out.textContent = "The reach could not be counted."; }
        });
    }
    function later() { window.clearTimeout(timer); timer = window.setTimeout(ask, 600); }
    [picker.lat, picker.lon, picker.radius].forEach(function (input) {
      input.addEventListener("input", later);
      input.addEventListener("change", later);
    });
    if (picker.at()) { later(); }
  }

  document.querySelectorAll("[data-map-picker]").forEach(function (fieldset) {
    var picker = new Picker(fieldset);
    if (!picker.lat || !picker.lon) { return; }
    picker.start();
    reach(picker);
  });
  document.querySelectorAll("[data-map-view]").forEach(view);
  document.querySelectorAll("[data-map-feed]").forEach(feedMap);
})();
