# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The two hot loops of the camera-search cover, compiled: checking a ring of cells
against the circle, and turning a grid disk into merged id ranges.

``porchlight.services.camera_search`` is the reference: it has the same steps in
Python, the proofs that make them sound, and falls back to them when this module is
not built (no C compiler at install) or cannot bind to h3. Each function here does the
same operations in the same order, so the answers are identical, not merely close (a
property test compares the two on random circles worldwide).

The h3 functions come from the H3 C library's public API (``h3api.h``, version 4),
which h3-py links into its extension modules and exports; ``bind`` looks them up by
name there, so nothing here depends on h3-py's Python or Cython internals, and no H3
headers are needed to build.
"""

from libc.math cimport atan2, cos, floor, pow, sin, sqrt
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort
from posix.dlfcn cimport RTLD_LOCAL, RTLD_NOW, dlopen, dlsym

from porchlight.domain import geo

ctypedef uint64_t H3Index
ctypedef uint32_t H3Error

ctypedef struct LatLng:
    double lat  # radians
    double lng

ctypedef H3Error (*CellToLatLng)(H3Index, LatLng*) noexcept nogil
ctypedef H3Error (*GridCells)(H3Index, int, H3Index*) noexcept nogil
ctypedef H3Error (*MaxGridSize)(int, int64_t*) noexcept nogil
ctypedef H3Error (*CompactCells)(const H3Index*, H3Index*, int64_t) noexcept nogil
ctypedef double (*RadsToDegs)(double) noexcept nogil

cdef CellToLatLng cell_to_latlng = NULL
cdef GridCells grid_ring = NULL
cdef GridCells grid_disk = NULL
cdef MaxGridSize max_grid_ring_size = NULL
cdef MaxGridSize max_grid_disk_size = NULL
cdef CompactCells compact_cells = NULL
cdef RadsToDegs rads_to_degs = NULL

cdef double DEG_TO_RAD = 3.141592653589793 / 180.0  # math.radians multiplies by this
cdef double EARTH_RADIUS_M = geo.EARTH_RADIUS_M

# The H3 id layout, as in camera_search.py.
cdef int RES_SHIFT = 52
cdef H3Index RES_MASK = (<H3Index>0xF) << 52
cdef H3Index RES_10 = (<H3Index>10) << 52
cdef int DIGIT_10_SHIFT = (15 - 10) * 3
cdef H3Index DIGIT_10 = (<H3Index>1) << DIGIT_10_SHIFT
cdef H3Index TEN_DIGITS = ((<H3Index>1) << 30) - 1
cdef H3Index TEN_SIXES = 0o6666666666
cdef H3Index FREE_DIGITS[11]
cdef H3Index ALL_SIXES[11]
cdef H3Index CARRY[11]


cdef int _digit_shift(int digit) noexcept:
    return (15 - digit) * 3


cdef void _tables() noexcept:
    cdef int r, d, t
    for r in range(11):
        FREE_DIGITS[r] = 0
        ALL_SIXES[r] = 0
        for d in range(r + 1, 11):
            FREE_DIGITS[r] |= (<H3Index>7) << _digit_shift(d)
            ALL_SIXES[r] |= (<H3Index>6) << _digit_shift(d)
    for t in range(11):
        CARRY[t] = DIGIT_10
        for d in range(t):
            CARRY[t] += (<H3Index>1) << (DIGIT_10_SHIFT + 3 * d)


_tables()


def bind(str library):
    """Look up h3's C functions in ``library`` (the path of one of h3-py's extension
    modules, already loaded). Raises ``ImportError`` if any is missing."""
    global cell_to_latlng, grid_ring, grid_disk, max_grid_ring_size, max_grid_disk_size
    global compact_cells, rads_to_degs
    cdef void* handle = dlopen(library.encode(), RTLD_NOW | RTLD_LOCAL)
    if handle == NULL:
        raise ImportError(f"cannot open {library}")
    symbols = {}
    for name in (b"cellToLatLng", b"gridRing", b"gridDisk", b"maxGridRingSize",
                 b"maxGridDiskSize", b"compactCells", b"radsToDegs"):
        address = dlsym(handle, name)
        if address == NULL:
            raise ImportError(f"{library} does not export {name.decode()}")
        symbols[name] = <size_t>address
    cell_to_latlng = <CellToLatLng><size_t>symbols[b"cellToLatLng"]
    grid_ring = <GridCells><size_t>symbols[b"gridRing"]
    grid_disk = <GridCells><size_t>symbols[b"gridDisk"]
    max_grid_ring_size = <MaxGridSize><size_t>symbols[b"maxGridRingSize"]
    max_grid_disk_size = <MaxGridSize><size_t>symbols[b"maxGridDiskSize"]
    compact_cells = <CompactCells><size_t>symbols[b"compactCells"]
    rads_to_degs = <RadsToDegs><size_t>symbols[b"radsToDegs"]


class H3Failed(RuntimeError):
    """An H3 C call returned an error code (never expected for the cells used here)."""


cdef inline void _check(H3Error error, str call) except *:
    if error != 0:
        raise H3Failed(f"{call} failed with H3 error {error}")


cdef H3Index* _grid(H3Index origin, int k, bint ring, int64_t* count) except NULL:
    """grid_ring or grid_disk into a new array (caller frees); empty slots stay 0."""
    cdef int64_t size
    cdef H3Index* cells
    if grid_ring == NULL:
        raise RuntimeError("bind() has not found h3's functions")
    if ring:
        _check(max_grid_ring_size(k, &size), "maxGridRingSize")
    else:
        _check(max_grid_disk_size(k, &size), "maxGridDiskSize")
    cells = <H3Index*>calloc(max(size, 1), sizeof(H3Index))  # h3 wants zeroed output
    if cells == NULL:
        raise MemoryError()
    cdef H3Error error = grid_ring(origin, k, cells) if ring else grid_disk(origin, k, cells)
    if error != 0:
        free(cells)
        _check(error, "gridRing" if ring else "gridDisk")
    count[0] = size
    return cells


cdef class Near:
    """``camera_search._Near``'s test for one ring of cells: is a cell's centre within
    r + REACH_M? The box, then SureInside (near), SureOutside (far), then the exact
    haversine for the few in between, exactly as ``_Near._near`` writes them out."""

    cdef double south, north, west, east, lat0, lon0, wide, near, narrow, far
    cdef double phi0, cos_phi0, limit

    def __init__(self, double south, double north, double west, double east, double lat0,
                 double lon0, double wide, double near, double narrow, double far,
                 double phi0, double cos_phi0, double limit):
        if cell_to_latlng == NULL:
            raise RuntimeError("bind() has not found h3's functions")
        self.south, self.north, self.west, self.east = south, north, west, east
        self.lat0, self.lon0 = lat0, lon0
        self.wide, self.near, self.narrow, self.far = wide, near, narrow, far
        self.phi0, self.cos_phi0, self.limit = phi0, cos_phi0, limit

    cdef bint _is_near(self, H3Index cell) except -1:
        cdef LatLng centre
        _check(cell_to_latlng(cell, &centre), "cellToLatLng")
        cdef double lat = rads_to_degs(centre.lat), lon = rads_to_degs(centre.lng)
        if not (self.south <= lat <= self.north and self.west <= lon <= self.east):
            return False
        cdef double dlat = lat - self.lat0, dlon = lon - self.lon0
        dlat, dlon = dlat * dlat, dlon * dlon
        if dlat + self.wide * dlon <= self.near:
            return True
        if dlat + self.narrow * dlon > self.far:
            return False
        return _haversine(self.phi0, self.cos_phi0, self.lon0, lat, lon) <= self.limit

    def ring(self, H3Index origin, int k, bint first_only):
        """The cells of ``grid_ring(origin, k)`` that may hold a point within the radius
        (only the first one found, with ``first_only``)."""
        return self._ring(origin, k, first_only)

    cdef list _ring(self, H3Index origin, int k, bint first_only):
        cdef int64_t size, i
        cdef H3Index* cells = _grid(origin, k, True, &size)
        try:
            found = []
            for i in range(size):
                if cells[i] != 0 and self._is_near(cells[i]):
                    found.append(cells[i])
                    if first_only:
                        break
        finally:
            free(cells)
        return found

    def cover(self, H3Index origin, double radius_m, double reach_m):
        """``camera_search._cover``'s search for k: (k, the cells of ring k that may
        touch the circle)."""
        cdef int k = self._first_guess(origin, radius_m, reach_m)
        while self._ring(origin, k + 1, True):
            k += 1
        outer = self._ring(origin, k, False)
        while not outer and k > 1:
            k -= 1
            outer = self._ring(origin, k, False)
        return k, outer

    cdef int _first_guess(self, H3Index origin, double radius_m, double reach_m) except -1:
        """``camera_search._first_guess``, operation for operation."""
        cdef LatLng centre
        cdef int64_t size, i
        cdef H3Index neighbour = 0
        _check(cell_to_latlng(origin, &centre), "cellToLatLng")
        cdef double lat = rads_to_degs(centre.lat), lon = rads_to_degs(centre.lng)
        cdef H3Index* ring = _grid(origin, 1, True, &size)
        for i in range(size):
            if ring[i] != 0 and (neighbour == 0 or ring[i] < neighbour):
                neighbour = ring[i]
        free(ring)
        _check(cell_to_latlng(neighbour, &centre), "cellToLatLng")
        cdef double phi = lat * DEG_TO_RAD
        cdef double e = _distance(phi, cos(phi), lon, rads_to_degs(centre.lat),
                                  rads_to_degs(centre.lng)) / sqrt(3.0)
        cdef double d0 = _distance(self.phi0, self.cos_phi0, self.lon0, lat, lon)
        return max(1, <int>floor((radius_m + reach_m + d0) / (1.5 * e)))


cdef double _haversine(double phi, double cos_phi, double lon0, double lat,
                       double lon) noexcept:
    """``DistanceFrom.haversine`` (and the start of ``__call__``), operation for
    operation. Python's ``x ** 2`` is libm's pow(x, 2.0), which is not always x * x
    rounded; setup.py's -fno-builtin-pow keeps the compiler from turning pow into a
    multiplication."""
    cdef double phi2 = lat * DEG_TO_RAD
    cdef double a = sin((phi2 - phi) / 2)
    cdef double b = sin((lon - lon0) * DEG_TO_RAD / 2)
    return pow(a, 2.0) + cos_phi * cos(phi2) * pow(b, 2.0)


cdef double _distance(double phi, double cos_phi, double lon0, double lat, double lon) noexcept:
    """``DistanceFrom.__call__``, operation for operation."""
    cdef double h = min(1.0, _haversine(phi, cos_phi, lon0, lat, lon))
    return 2 * EARTH_RADIUS_M * atan2(sqrt(h), sqrt(1.0 - h))


ctypedef struct Range:
    H3Index lo
    H3Index hi


cdef int _by_lo_then_hi(const void* a, const void* b) noexcept nogil:
    cdef const Range* x = <const Range*>a
    cdef const Range* y = <const Range*>b
    if x.lo != y.lo:
        return -1 if x.lo < y.lo else 1
    if x.hi != y.hi:
        return -1 if x.hi < y.hi else 1
    return 0


cdef inline Range _descendant_range(H3Index cell) noexcept:
    """camera_search.descendant_range (a resolution-10 cell is its own range)."""
    cdef Range out
    cdef int r = <int>((cell & RES_MASK) >> RES_SHIFT)
    if (cell & RES_MASK) == RES_10:
        out.lo = out.hi = cell
        return out
    out.lo = (cell & ~RES_MASK & ~FREE_DIGITS[r]) | RES_10
    out.hi = out.lo | ALL_SIXES[r]
    return out


cdef inline H3Index _successor(H3Index cell) noexcept:
    """camera_search.successor."""
    cdef H3Index differs = ((cell >> DIGIT_10_SHIFT) & TEN_DIGITS) ^ TEN_SIXES
    cdef int sixes = 10
    cdef H3Index lowest
    cdef int bit = 0
    if differs != 0:
        lowest = differs & (~differs + 1)
        while lowest > 1:
            lowest >>= 1
            bit += 1
        sixes = bit // 3
    return cell + CARRY[sixes]


def disk_ranges(H3Index origin, int inner_k, outer):
    """``compact_cells(grid_disk(origin, inner_k))`` plus the ``outer`` cells (valid H3
    cell ids, all below 2⁶³), as the sorted, merged ranges ``camera_search.cover_circle``
    builds, and how many cells they came from."""
    cdef tuple extra = tuple(outer)
    cdef int64_t size, i, n = 0, kept = 0, count
    cdef H3Index* disk = _grid(origin, inner_k, False, &size)
    cdef H3Index* compacted = NULL
    cdef Range* ranges = NULL
    cdef H3Index top
    try:
        for i in range(size):  # compactCells wants no empty slots
            if disk[i] != 0:
                disk[n] = disk[i]
                n += 1
        compacted = <H3Index*>calloc(max(n, 1), sizeof(H3Index))
        ranges = <Range*>malloc((n + len(extra) + 1) * sizeof(Range))
        if compacted == NULL or ranges == NULL:
            raise MemoryError()
        _check(compact_cells(disk, compacted, n), "compactCells")
        for i in range(n):
            if compacted[i] != 0:
                ranges[kept] = _descendant_range(compacted[i])
                kept += 1
        count = kept
        for cell in extra:
            ranges[count].lo = ranges[count].hi = cell
            count += 1
        qsort(ranges, count, sizeof(Range), _by_lo_then_hi)
        merged = []
        i = 0
        while i < count:
            lo, top = ranges[i].lo, ranges[i].hi
            i += 1
            while i < count and (
                ranges[i].lo <= top + DIGIT_10
                or (((top >> DIGIT_10_SHIFT) & 7) == 6 and ranges[i].lo <= _successor(top))
            ):
                if ranges[i].hi > top:
                    top = ranges[i].hi
                i += 1
            merged.append((lo, top))
        return merged, count
    finally:
        free(disk)
        free(compacted)
        free(ranges)
