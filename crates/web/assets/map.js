// Street-office areas drawn as SVG from the jurisdictions GeoJSON, no map
// tiles; points placed on them; named places for the manual fallback.

import { svg, lang, t } from './common.js';

let cached = null;

/** The jurisdictions FeatureCollection (fetched once). */
export async function jurisdictions() {
  if (!cached) {
    cached = fetch('/v1/jurisdictions', { credentials: 'same-origin' })
      .then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.json(); })
      // Not kept: the next call tries again.
      .catch(() => { cached = null; return { features: [] }; });
  }
  return cached;
}

/** The polygons of a feature: [[ring, hole, …], …], rings of [lon, lat]. */
function polygons(feature) {
  const g = feature.geometry || {};
  if (g.type === 'Polygon') return [g.coordinates];
  if (g.type === 'MultiPolygon') return g.coordinates;
  return [];
}

function inRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Whether [lon, lat] lies in the feature (holes excluded). */
export function contains(feature, point) {
  return polygons(feature).some(([outer, ...holes]) => inRing(point, outer) && !holes.some((h) => inRing(point, h)));
}

/** The office's display name in the page language. */
export function officeName(feature) {
  const p = feature.properties || {};
  return (lang() === 'en' && p.name_en) || p.name || p.office_id;
}

/** A point well inside each office's area: {office_id, name, lat, lon}. */
export function namedPlaces(collection) {
  return collection.features.map((f) => {
    const b = bounds([f]);
    let best = null;
    // Scan a grid, keep the inside point farthest from the area's edges.
    for (let i = 1; i < 12; i++) for (let j = 1; j < 12; j++) {
      const p = [b.minX + ((b.maxX - b.minX) * i) / 12, b.minY + ((b.maxY - b.minY) * j) / 12];
      if (!contains(f, p)) continue;
      const score = edgeDistance(f, p);
      if (!best || score > best.score) best = { p, score };
    }
    const [lon, lat] = best ? best.p : [(b.minX + b.maxX) / 2, (b.minY + b.maxY) / 2];
    return { office_id: f.properties.office_id, name: officeName(f), lat: round(lat), lon: round(lon) };
  });
}

function round(x) { return Math.round(x * 10000) / 10000; }

function edgeDistance(feature, [x, y]) {
  let min = Infinity;
  for (const poly of polygons(feature)) for (const ring of poly) for (const [px, py] of ring) {
    min = Math.min(min, Math.hypot(px - x, py - y));
  }
  return min;
}

function bounds(features) {
  const b = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (const f of features) for (const poly of polygons(f)) for (const [x, y] of poly[0]) {
    b.minX = Math.min(b.minX, x); b.maxX = Math.max(b.maxX, x);
    b.minY = Math.min(b.minY, y); b.maxY = Math.max(b.maxY, y);
  }
  return b;
}

/** The map in words, for screen readers: its areas and what is marked on it. */
function mapWords(features, points) {
  const areas = features.map(officeName).join(lang() === 'zh' ? '、' : ', ');
  const marks = points.map((p) => p.title).filter(Boolean).slice(0, 10).join(lang() === 'zh' ? '；' : '; ');
  return t('map_alt').replace('{areas}', areas).replace('{n}', String(points.length)) + (marks ? ` ${marks}` : '');
}

/**
 * An <svg> of `features` (one path each, holes cut out) with `points`
 * ({lat, lon, cls, title}) as circles. `highlight` names an office id.
 */
export function drawMap(features, points = [], { highlight, labels = true, width = 400 } = {}) {
  const b = bounds(features);
  if (!isFinite(b.minX)) return svg('svg', { class: 'map', viewBox: '0 0 10 10', role: 'img', 'aria-label': mapWords([], points) });
  const k = Math.cos((((b.minY + b.maxY) / 2) * Math.PI) / 180);
  const pad = (b.maxY - b.minY) * 0.04 || 0.001;
  const w = (b.maxX - b.minX) * k + 2 * pad, h = b.maxY - b.minY + 2 * pad;
  const scale = width / w;
  const xy = ([lon, lat]) => [((lon - b.minX) * k + pad) * scale, ((b.maxY - lat) + pad) * scale];
  const root = svg('svg', { class: 'map', viewBox: `0 0 ${width.toFixed(0)} ${(h * scale).toFixed(0)}`, role: 'img',
    'aria-label': mapWords(features, points) });
  for (const f of features) {
    const d = polygons(f).flatMap((poly) => poly.map((ring) => 'M' + ring.map((p) => xy(p).map((v) => v.toFixed(1)).join(',')).join('L') + 'Z')).join('');
    const cls = f.properties.office_id === highlight ? 'area highlight' : 'area';
    root.append(svg('path', { d, class: cls, 'fill-rule': 'evenodd' }, svg('title', {}, officeName(f))));
  }
  if (labels) {
    for (const place of namedPlaces({ features })) {
      const [px, y] = xy([place.lon, place.lat]);
      const x = Math.min(Math.max(px, 30), width - 30);
      root.append(svg('text', { x: x.toFixed(1), y: y.toFixed(1), class: 'label', 'text-anchor': 'middle' }, place.name));
    }
  }
  for (const p of points) {
    const [x, y] = xy([p.lon, p.lat]);
    root.append(svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: p.r || 6, class: `dot ${p.cls || ''}` }, svg('title', {}, p.title || '')));
  }
  return root;
}
