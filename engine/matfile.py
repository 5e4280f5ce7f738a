"""A small reader for MATLAB level-5 MAT-files (versions 5 to 7, compressed or not), without scipy.

Enough for the split lists of Stanford Dogs and the annotations of Stanford Cars: numeric, char, cell and
struct arrays. Values come back as numpy arrays in MATLAB's shape (column-major order kept), char arrays as
`str` (one row) or a list of `str` (several rows), cells as object arrays, structs as object arrays of dicts.
MATLAB 7.3 files are HDF5 and are refused.
"""
import struct
import zlib

import numpy as np

# Data types of the file's elements.
MI_MATRIX, MI_COMPRESSED, MI_UTF8, MI_UTF16, MI_UTF32 = 14, 15, 16, 17, 18
_MI_NUMERIC = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
# Array classes of a miMATRIX element.
MX_CELL, MX_STRUCT, MX_CHAR = 1, 2, 4
_MX_NUMERIC = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8"}
_COMPLEX_FLAG = 0x0800


class MatFileError(ValueError):
    """The file is not a MAT-file this reader understands."""


def load_mat(path):
    """{variable name: value} of the MAT-file at `path`."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 128 or not raw.startswith(b"MATLAB"):
        raise MatFileError(f"{path}: not a MATLAB MAT-file")
    endian = {b"IM": "<", b"MI": ">"}.get(raw[126:128])
    if endian is None:
        raise MatFileError(f"{path}: bad endian indicator in the MAT-file header")
    version = struct.unpack_from(endian + "H", raw, 124)[0]
    if version != 0x0100:
        raise MatFileError(f"{path}: MAT-file version {version:#06x} (7.3/HDF5?) is not supported; "
                           f"save it with MATLAB's -v7 option")
    out, pos = {}, 128
    try:
        while pos + 8 <= len(raw):
            mtype, data, pos = _element(raw, pos, endian)
            if mtype == MI_COMPRESSED:
                mtype, data, _ = _element(zlib.decompress(data), 0, endian)
            if mtype == MI_MATRIX:
                name, value = _matrix(data, endian)
                out[name] = value
    except (struct.error, zlib.error, IndexError) as err:
        raise MatFileError(f"{path}: corrupt MAT-file ({err})") from None
    return out


def _element(buf, pos, endian):
    """(type, payload bytes, position of the next element) of the data element at `pos`."""
    first = struct.unpack_from(endian + "I", buf, pos)[0]
    if first >> 16:   # small data element: type and size share one word, payload in the next 4 bytes
        mtype, size = first & 0xFFFF, first >> 16
        if size > 4:
            raise MatFileError(f"small data element of {size} bytes")
        return mtype, buf[pos + 4:pos + 4 + size], pos + 8
    mtype, size = struct.unpack_from(endian + "II", buf, pos)
    start, end = pos + 8, pos + 8 + size
    if end > len(buf):
        raise MatFileError(f"data element of {size} bytes runs past the end of the file")
    # Compressed elements are not padded; all others end on an 8-byte boundary.
    return mtype, buf[start:end], end if mtype == MI_COMPRESSED else start + (size + 7) // 8 * 8


def _numbers(mtype, data, endian):
    if mtype not in _MI_NUMERIC:
        raise MatFileError(f"data type {mtype} where numbers were expected")
    return np.frombuffer(data, dtype=endian + _MI_NUMERIC[mtype])


def _matrix(data, endian):
    """(name, value) of one miMATRIX payload."""
    if not data:   # an empty array is written as a miMATRIX element with no payload
        return "", np.empty((0, 0))
    _, flags, pos = _element(data, 0, endian)
    flags = struct.unpack_from(endian + "I", flags)[0]
    cls = flags & 0xFF
    _, dims, pos = _element(data, pos, endian)
    dims = tuple(int(d) for d in np.frombuffer(dims, dtype=endian + "i4"))
    _, name, pos = _element(data, pos, endian)
    name = name.decode("latin-1")
    count = int(np.prod(dims)) if dims else 0
    if cls in _MX_NUMERIC:
        mtype, real, pos = _element(data, pos, endian)
        values = _numbers(mtype, real, endian).astype(_MX_NUMERIC[cls])
        if flags & _COMPLEX_FLAG:
            mtype, imag, pos = _element(data, pos, endian)
            values = values + 1j * _numbers(mtype, imag, endian)
        return name, values.reshape(dims, order="F")
    if cls == MX_CHAR:
        mtype, chars, pos = _element(data, pos, endian)
        return name, _chars(mtype, chars, dims, endian)
    if cls == MX_CELL:
        items = np.empty(count, dtype=object)
        for i in range(count):
            pos, items[i] = _sub_matrix(data, pos, endian)
        return name, items.reshape(dims, order="F")
    if cls == MX_STRUCT:
        _, width, pos = _element(data, pos, endian)
        width = int(np.frombuffer(width, dtype=endian + "i4")[0])
        _, names, pos = _element(data, pos, endian)
        fields = [names[i:i + width].split(b"\0", 1)[0].decode("latin-1") for i in range(0, len(names), width)]
        items = np.empty(count, dtype=object)
        for i in range(count):
            record = {}
            for field in fields:
                pos, record[field] = _sub_matrix(data, pos, endian)
            items[i] = record
        return name, items.reshape(dims, order="F")
    raise MatFileError(f"MATLAB array class {cls} (variable '{name}') is not supported")


def _sub_matrix(data, pos, endian):
    mtype, sub, pos = _element(data, pos, endian)
    if mtype != MI_MATRIX:
        raise MatFileError(f"data type {mtype} where an array was expected")
    return pos, _matrix(sub, endian)[1]


def _chars(mtype, data, dims, endian):
    if mtype == MI_UTF8:
        chars = list(data.decode("utf-8"))
    elif mtype == MI_UTF16:
        chars = list(data.decode("utf-16-le" if endian == "<" else "utf-16-be"))
    elif mtype == MI_UTF32:
        chars = list(data.decode("utf-32-le" if endian == "<" else "utf-32-be"))
    else:
        chars = [chr(int(c)) for c in _numbers(mtype, data, endian)]
    rows = dims[0] if dims else 0
    if not chars or not rows:
        return ""
    if len(chars) % rows:
        raise MatFileError(f"{len(chars)} characters do not fill a char array of shape {dims}")
    grid = np.array(chars, dtype=object).reshape((rows, len(chars) // rows), order="F")
    lines = ["".join(row) for row in grid]
    return lines[0] if rows == 1 else lines
