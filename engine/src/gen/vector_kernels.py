#!/usr/bin/env python3
"""Generates the Vector API matmul classes of dev.baton.engine.tensor: {F32,F16,Bf16,Q8,Q4}VectorMatrix.

The tile methods are written out (no helper calls with vector arguments; see VectorKernels' class
comment), so they are generated rather than typed. Run from anywhere, then rebuild:

    python3 engine/src/gen/vector_kernels.py                 # the tile shapes below
    python3 engine/src/gen/vector_kernels.py Q8_0=1x4,4x1    # try other shapes (RxV for groups, Rx1 leftovers)
"""
import os
import sys
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../main/java/dev/baton/engine/tensor/')

def ind(n, s):
    return '\n'.join((' ' * n + l) if l else l for l in s.split('\n'))

# ---------------------------------------------------------------- element types (F32, F16, BF16)
def chunk_f32(var, off):
    return f'FloatVector {var} = FloatVector.fromMemorySegment(F, w, {off}, LE);'

def chunk_bf16(var, off):
    return (f'FloatVector {var} = ((IntVector) ShortVector.fromMemorySegment(S, w, {off}, LE)\n'
            f'        .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();')

def chunk_f16(var, off):
    return (f'IntVector {var}h = (IntVector) ShortVector.fromMemorySegment(S, w, {off}, LE)\n'
            f'        .convertShape(VectorOperators.S2I, I, 0);\n'
            f'IntVector {var}e = {var}h.lanewise(VectorOperators.LSHL, 13).and(0x0FFFE000);\n'
            f'FloatVector {var} = {var}e.reinterpretAsFloats().mul(F16_REBIAS).reinterpretAsInts()\n'
            f'        .blend({var}e.or(0x70000000), {var}h.and(0x7C00).eq(0x7C00))\n'
            f'        .or({var}h.and(0x80000000)).reinterpretAsFloats();')

ETYPES = {
    'F32': dict(cls='F32VectorMatrix', base='F32Matrix', eb=4, chunk=chunk_f32,
                element='w.get(F32_LE, {off})', imports_static=['F32_LE'],
                imports=['FloatVector'],
                desc='F32 weights x F32 input', tiles=[(4, 4), (4, 1)]),
    'F16': dict(cls='F16VectorMatrix', base='F16Matrix', eb=2, chunk=chunk_f16,
                element='Float.float16ToFloat(w.get(I16_LE, {off}))', imports_static=['I16_LE'],
                imports=['FloatVector', 'IntVector', 'ShortVector', 'VectorOperators'],
                desc='F16 weights x F16-rounded input', tiles=[(2, 4), (4, 1)],
                note=('\n *\n * <p>fp16 lanes become floats exactly, subnormals, infinities and NaNs included: exponent and\n'
                      ' * mantissa move to their float positions, a multiply by 2^112 rebiases the exponent (and\n'
                      ' * normalizes subnormals), exponent 31 maps to 255, and the sign is put back.')),
    'BF16': dict(cls='Bf16VectorMatrix', base='Bf16Matrix', eb=2, chunk=chunk_bf16,
                 element='HalfFloats.bf16ToFloat(w.get(I16_LE, {off}))', imports_static=['I16_LE'],
                 imports=['FloatVector', 'IntVector', 'ShortVector', 'VectorOperators'],
                 desc='BF16 weights x BF16-rounded input', tiles=[(2, 4), (4, 1)]),
}

def etile(t, R, V):
    c = []
    c.append(f'private void tile{R}x{V}(float[] x, float[] tmp, int r, int v, float[] out, int o, int step) {{')
    b = []
    b.append('MemorySegment w = data;')
    b.append('int n = cols;')
    b.append('int x0 = v * n;')
    for j in range(1, V):
        b.append(f'int x{j} = x{j-1} + n;')
    b.append('long w0 = r * rowBytes;')
    for k in range(1, R):
        b.append(f'long w{k} = w{k-1} + rowBytes;')
    b.append('int upper = n - n % L;')
    first = True
    for k in range(R):
        for j in range(V):
            b.append(f'FloatVector a{k}{j} = FloatVector.zero(F);' if first else f'FloatVector a{k}{j} = a00;')
            first = False
    b.append('for (int i = 0; i < upper; i += L) {')
    l = []
    l.append(f'long off = {t["eb"]}L * i;')
    if R == 1:
        l.append(t['chunk']('w0c', 'w0 + off'))
        for j in range(V):
            l.append(f'a0{j} = w0c.fma(FloatVector.fromArray(F, x, x{j} + i), a0{j});')
    else:
        for j in range(V):
            l.append(f'FloatVector x{j}c = FloatVector.fromArray(F, x, x{j} + i);')
        for k in range(R):
            l.append(t['chunk'](f'w{k}c', f'w{k} + off'))
            for j in range(V):
                l.append(f'a{k}{j} = w{k}c.fma(x{j}c, a{k}{j});')
    b.append(ind(4, '\n'.join(l)))
    b.append('}')
    idx = 0
    for k in range(R):
        for j in range(V):
            b.append(f'a{k}{j}.intoArray(tmp, {idx} * L);')
            idx += 1
    for k in range(R):
        b.append(f'VectorKernels.sumLanes(tmp, {k * V} * L, {V}, out, o + {k}, step);')
    b.append('for (int i = upper; i < n; i++) {')
    l = []
    for k in range(R):
        l.append(f'float e{k} = ' + t['element'].format(off=f'w{k} + {t["eb"]}L * i') + ';')
    for k in range(R):
        for j in range(V):
            l.append(f'out[o + {j} * step + {k}] = Math.fma(e{k}, x[x{j} + i], out[o + {j} * step + {k}]);')
    b.append(ind(4, '\n'.join(l)))
    b.append('}')
    c.append(ind(4, '\n'.join(b)))
    c.append('}')
    return '\n'.join(c)

# ---------------------------------------------------------------- block types (Q8_0, Q4_0)
# The Q8_0 input stores each block "by groups" (see InputBatch): position 8t + i holds element 4i + t, so
# 8-float chunk t, lane i, pairs with the weights' group i (elements 4i .. 4i+3), which is an int lane of
# the block's bytes read as ints.
QTYPES = {
    'Q8_0': dict(cls='Q8VectorMatrix', base='Q8Matrix', desc='Q8_0 weights x Q8_0 input',
                 imports=['FloatVector', 'IntVector', 'VectorOperators'], tiles=[(2, 4), (4, 1)],
                 order=('llama.cpp\'s x86 arithmetic for Q8_0 ({@code ggml_vec_dot_q8_0_q8_0} with AVX2, which AVX-512\n'
                        ' * builds run too, and llamafile\'s {@code tinyBLAS_Q0_AVX} for batches), at every vector width:\n'
                        ' * 8 float lanes (256-bit vectors), lane {@code i} of a block the exact integer sum of its elements\n'
                        ' * {@code 4i .. 4i+3} ({@code p = w_0 * x_0; p = fma(w_t, x_t, p)} over the 4 chunks of the input\'s\n'
                        ' * group order, |p| &lt; 2^24), then {@code acc = fma(p, d_w * d_x, acc)}, block after block; the\n'
                        ' * lanes of {@code acc} are then summed pairwise, lane i with i^4, then ^2, ^1 (ggml\'s\n'
                        ' * {@code hsum_float_8}), by a transpose-and-add network over all of a tile\'s accumulators that\n'
                        ' * performs exactly those additions (the generator checks this).\n'
                        ' *\n'
                        ' * <p>A block\'s 32 bytes are read as 8 ints: int lane {@code i} holds the weights of elements\n'
                        ' * {@code 4i .. 4i+3}, and shifts sign-extend byte {@code t} of each lane for chunk {@code t}.')),
    'Q4_0': dict(cls='Q4VectorMatrix', base='Q4Matrix', desc='Q4_0 weights x Q8_0 input',
                 imports=['ByteVector', 'FloatVector', 'IntVector', 'VectorOperators'], tiles=[(2, 4), (4, 1)],
                 order=('llama.cpp\'s x86 arithmetic for Q4_0, which it repacks to {@code q4_0_8x8} on every\n'
                        ' * CPU with AVX2, AVX-512 ones included ({@code ggml_gemv_q4_0_8x8_q8_0},\n'
                        ' * {@code ggml_gemm_q4_0_8x8_q8_0}): each block\'s 32 products summed exactly (in float lanes,\n'
                        ' * all partial sums integers below 2^24, so in any order), then\n'
                        ' * {@code acc = fma(isum, d_w * d_x, acc)} block after block in one float per (row, vector). The\n'
                        ' * lanes of a tile\'s block sums are added by one transpose-and-add network.\n'
                        ' *\n'
                        ' * <p>The input is in group order (see {@link InputBatch}): chunk {@code c}, lane {@code l} is\n'
                        ' * element {@code 4i + t} where {@code cL + l = 8t + i}. The block\'s 16 bytes are read as 4 ints,\n'
                        ' * repeated over the lanes, and {@link VectorKernels#NIB0} ... {@code NIB3} shift each lane\'s nibble down: byte\n'
                        ' * {@code 4(i % 4) + t}, the low nibble for {@code i < 4}, the high one for {@code i >= 4}.')),
}


# ---------------------------------------------------------------- multi-accumulator lane sums
def _tree(row, lanes):
    """The expression sumLanes builds for lane 0 of one accumulator of `lanes` lanes (lane i with lane i^(lanes/2),
    then ... ^1), addition as an unordered pair."""
    e = {i: ('a', row, i) for i in range(lanes)}
    s = lanes // 2
    while s >= 1:
        e = {i: tuple(sorted((e[i], e[i ^ s]), key=repr)) for i in range(lanes)}
        s //= 2
    return e[0]

def butterfly(accs, lanes, sfx=''):
    """Sums the lanes of len(accs) (a power of two, at most `lanes`) accumulators in one transpose-and-add
    network: level s pairs vector u with vector v as u.blend(v, HI_s) + v.blend(u, HI_s).rearrange(SWAP_s),
    which puts u's level-s pair sums in the lanes with bit s clear and v's in the lanes with bit s set;
    a lone vector is added to its own rearrangement. Every add is one of sumLanes' adds (an add is
    commutative, bit for bit), so the results are bit-identical to sumLanes'; this is checked here,
    symbolically. `sfx` names the constants of the species (HI4_8, SWAP4_8 for 8 lanes).
    Returns (java lines, final vector name, {acc index: lane}).
    """
    n = len(accs)
    assert n & (n - 1) == 0 and 1 <= n <= lanes
    vecs = [(name, {i: ('a', k, i) for i in range(lanes)}) for k, name in enumerate(accs)]
    lines = []
    t = 0
    s = lanes // 2
    while s >= 1:
        nxt = []
        if len(vecs) == 1:
            name, e = vecs[0]
            nn = f'u{t}'; t += 1
            lines.append(f'FloatVector {nn} = {name}.add({name}.rearrange(SWAP{s}{sfx}));')
            nxt.append((nn, {i: tuple(sorted((e[i], e[i ^ s]), key=repr)) for i in range(lanes)}))
        else:
            for p in range(0, len(vecs), 2):
                (un, ue), (vn, ve) = vecs[p], vecs[p + 1]
                nn = f'u{t}'; t += 1
                lines.append(f'FloatVector {nn} = {un}.blend({vn}, HI{s}{sfx}).add({vn}.blend({un}, HI{s}{sfx}).rearrange(SWAP{s}{sfx}));')
                src = {i: (ve if i & s else ue) for i in range(lanes)}
                nxt.append((nn, {i: tuple(sorted((src[i][i], src[i][i ^ s]), key=repr)) for i in range(lanes)}))
        vecs = nxt
        s //= 2
    assert len(vecs) == 1
    name, e = vecs[0]
    lane = {}
    for k in range(n):
        want = _tree(k, lanes)
        hits = [i for i in range(lanes) if e[i] == want]
        assert hits, f'accumulator {k} has no lane with its sumLanes tree'
        lane[k] = hits[0]
    return lines, name, lane

def _head(R, V, zero):
    b = ['MemorySegment w = data;', 'int blocks = cols / QK;', 'int x0 = v * cols;']
    for j in range(1, V):
        b.append(f'int x{j} = x{j-1} + cols;')
    b.append('int d0 = v * blocks;')
    for j in range(1, V):
        b.append(f'int d{j} = d{j-1} + blocks;')
    b.append('long rb = rowBytes;')
    b.extend(zero)
    b.append('long base = r * rb;')
    return b

def _ro(k):
    return 'bo' if k == 0 else ('bo + rb' if k == 1 else f'bo + {k} * rb')

def q8tile(R, V):
    """Q8_0: llama.cpp's x86 arithmetic (ggml_vec_dot_q8_0_q8_0 with AVX2, also in AVX-512 builds, and
    llamafile's tinyBLAS_Q0_AVX for batches), whatever the machine's vector width: 8 float lanes, lane i
    the exact integer sum of the block's elements 4i .. 4i+3, acc = fma(isum, d_w * d_x, acc) block after
    block, then the lanes summed pairwise (i with i^4, ^2, ^1), as hsum_float_8."""
    c = [f'private void tile{R}x{V}(float[] xq, float[] xd, float[] tmp, int r, int v, float[] out, int o, int step) {{']
    zero = ['FloatVector zero = FloatVector.zero(F8);'] + [f'FloatVector a{k}{j} = zero;' for k in range(R) for j in range(V)]
    b = _head(R, V, zero)
    b.append('for (int b = 0; b < blocks; b++) {')
    l = ['int xb = b * QK;', 'long bo = base + (long) b * BB;']
    for k in range(R):
        # int lane i: the bytes of group i (elements 4i .. 4i+3), byte t in bits 8t .. 8t+7
        l.append(f'IntVector q{k} = IntVector.fromMemorySegment(I8, w, {_ro(k)} + 2, LE);')
        l.append(f'float dw{k} = Float.float16ToFloat(w.get(I16_LE, {_ro(k)}));')
        for t in range(4):
            src = f'q{k}.lanewise(VectorOperators.LSHL, {24 - 8 * t})' if t < 3 else f'q{k}'
            l.append(f'FloatVector w{k}{t} = (FloatVector) {src}.lanewise(VectorOperators.ASHR, 24)'
                     f'.convert(VectorOperators.I2F, 0);')
            for j in range(V):
                xv = f'FloatVector.fromArray(F8, xq, x{j} + xb{"" if t == 0 else f" + {8 * t}"})'
                l.append(f'FloatVector p{k}{j} = w{k}0.mul({xv});' if t == 0 else f'p{k}{j} = w{k}{t}.fma({xv}, p{k}{j});')
        for j in range(V):
            l.append(f'a{k}{j} = p{k}{j}.fma(FloatVector.broadcast(F8, dw{k} * xd[d{j} + b]), a{k}{j});')
    b.append(ind(4, '\n'.join(l)))
    b.append('}')
    accs = [(k, j) for k in range(R) for j in range(V)]
    lines, fin, lane = butterfly([f'a{k}{j}' for (k, j) in accs], 8, '_8')
    for i, (k, j) in enumerate(accs):
        dst = f'o + {k}' if j == 0 else f'o + {j} * step + {k}'
        lines.append(f'out[{dst}] = {fin}.lane({lane[i]});')
    b.extend(lines)
    c.append(ind(4, '\n'.join(b)))
    c.append('}')
    return '\n'.join(c)

def q4tile(R, V):
    """Q4_0: llama.cpp's x86 arithmetic for Q4_0 weights (repacked to q4_0_8x8 on every AVX2 CPU, AVX-512
    ones included: ggml_gemv/gemm_q4_0_8x8_q8_0): each block's products summed exactly in integers, then
    acc = fma(isum, d_w * d_x, acc) block after block, one scalar accumulator per (row, vector). The
    block sums are exact, so they are taken at the preferred width (L lanes): the weights' 16 bytes are
    read as 4 ints, repeated over the L lanes, and lane l of chunk c shifts out the nibble of element
    4i+t (position cL + l = 8t + i of the input's group order): byte 4(i%4)+t, low nibble for i < 4."""
    c = [f'private void tile{R}x{V}(float[] xq, float[] xd, float[] tmp, int r, int v, float[] out, int o, int step) {{']
    zero = [f'float a{k}{j} = 0f;' for k in range(R) for j in range(V)]
    b = _head(R, V, zero)
    b.append('for (int b = 0; b < blocks; b++) {')
    l = ['int xb = b * QK;', 'long bo = base + (long) b * BB;']
    for k in range(R):
        l.append(f'IntVector q{k} = ((IntVector) ByteVector.fromMemorySegment(B16, w, {_ro(k)} + 2, LE)'
                 f'.reinterpretShape(I, 0)).rearrange(REP4);')
        l.append(f'float dw{k} = Float.float16ToFloat(w.get(I16_LE, {_ro(k)}));')
    for k in range(R):
        l.append(f'FloatVector w{k}f = (FloatVector) q{k}.lanewise(VectorOperators.LSHR, NIB0).and(0x0F).sub(8)'
                 f'.convert(VectorOperators.I2F, 0);')
        for j in range(V):
            l.append(f'FloatVector p{k}{j} = w{k}f.mul(FloatVector.fromArray(F, xq, x{j} + xb));')
    def chunk(cc):
        m = []
        for k in range(R):
            m.append(f'FloatVector w{k}c{cc} = (FloatVector) q{k}.lanewise(VectorOperators.LSHR, NIB{cc}).and(0x0F).sub(8)'
                     f'.convert(VectorOperators.I2F, 0);')
            for j in range(V):
                m.append(f'p{k}{j} = w{k}c{cc}.fma(FloatVector.fromArray(F, xq, x{j} + xb + {cc} * L), p{k}{j});')
        return m
    # CHUNKS is 2 (16 lanes) or 4 (8 lanes).
    l.extend(chunk(1))
    l.append('if (CHUNKS == 4) {')
    l.append(ind(4, '\n'.join(chunk(2) + chunk(3))))
    l.append('}')
    accs = [(k, j) for k in range(R) for j in range(V)]
    # The lane sums are exact integers: any order gives the same block sums.
    lines, fin, lane = butterfly([f'p{k}{j}' for (k, j) in accs], 16)  # symbolic check at 16 lanes
    l.append('if (L == 16) {')
    l.append(ind(4, '\n'.join(lines)))
    l.append(ind(4, f'{fin}.intoArray(tmp, 0);'))
    l.append('} else {')
    lines8, fin8, lane8 = butterfly([f'p{k}{j}' for (k, j) in accs], 8)
    l.append(ind(4, '\n'.join(lines8)))
    l.append(ind(4, f'{fin8}.intoArray(tmp, 0);'))
    l.append('}')
    for i, (k, j) in enumerate(accs):
        ln = f'L == 16 ? {lane[i]} : {lane8[i]}' if lane[i] != lane8[i] else f'{lane[i]}'
        l.append(f'a{k}{j} = Math.fma(tmp[{ln}], dw{k} * xd[d{j} + b], a{k}{j});')
    b.append(ind(4, '\n'.join(l)))
    b.append('}')
    for (k, j) in accs:
        dst = f'o + {k}' if j == 0 else f'o + {j} * step + {k}'
        b.append(f'out[{dst}] = a{k}{j};')
    c.append(ind(4, '\n'.join(b)))
    c.append('}')
    return '\n'.join(c)

def qtile(name, R, V):
    return q8tile(R, V) if name == 'Q8_0' else q4tile(R, V)

def matmul(tiles, quant):
    (RV, VV), singles = tiles[0], [R for (R, _) in tiles[1:]]
    args_q = 'in.values, in.scales, tmp' if quant else 'in.values, tmp'
    shapes = [(RV, VV)] + ([(1, VV)] if RV > 1 else []) + [(R, 1) for R in singles if R > 1] + [(1, 1)]
    s = f'''@Override
public void matmul(InputBatch in, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {{
    checkMatmul(in, out, outOffset, outStride, rowStart, rowEnd);
    float[] tmp = VectorKernels.scratch();
    int n = in.vectorCount();
    int full = n - n % {VV};
    if (full > 0) {{
        int r = rowStart;
'''
    if RV > 1:
        s += f'''        for (; r + {RV} <= rowEnd; r += {RV}) {{
            for (int v = 0; v < full; v += {VV}) {{
                tile{RV}x{VV}({args_q}, r, v, out, outOffset + v * outStride + r, outStride);
            }}
        }}
'''
    s += f'''        for (; r < rowEnd; r++) {{
            for (int v = 0; v < full; v += {VV}) {{
                tile1x{VV}({args_q}, r, v, out, outOffset + v * outStride + r, outStride);
            }}
        }}
    }}
    for (int v = full; v < n; v++) {{
        int o = outOffset + v * outStride;
        int r = rowStart;
'''
    for RR in singles:
        if RR > 1:
            s += f'''        for (; r + {RR} <= rowEnd; r += {RR}) {{
            tile{RR}x1({args_q}, r, v, out, o + r, outStride);
        }}
'''
    s += f'''        for (; r < rowEnd; r++) {{
            tile1x1({args_q}, r, v, out, o + r, outStride);
        }}
    }}
}}'''
    return s, shapes

def emit(name, t, quant):
    tiles = t['tiles']
    mm, shapes = matmul(tiles, quant)
    gen = qtile if quant else etile
    bodies = [gen(name if quant else t, R, V) for (R, V) in shapes]
    imports = '\n'.join(f'import jdk.incubator.vector.{i};' for i in t['imports'])
    stat = ['B16', 'CHUNKS', 'F', 'F8', 'F16_REBIAS', 'HI1', 'HI2', 'HI4', 'HI8', 'HI1_8', 'HI2_8', 'HI4_8', 'I', 'I8',
            'L', 'LE', 'NIB0', 'NIB1', 'NIB2', 'NIB3', 'REP4', 'S', 'SWAP1', 'SWAP2', 'SWAP4', 'SWAP8', 'SWAP1_8', 'SWAP2_8', 'SWAP4_8']
    import re
    used = [s for s in stat if any(re.search(r'\b' + s + r'\b', x) for x in bodies + [mm])]
    hs = [h for h in t.get('imports_static', ['I16_LE']) if any(re.search(r'\b' + h + r'\b', x) for x in bodies + [mm])]
    static_imports = '\n'.join([f'import static dev.baton.engine.tensor.HalfFloats.{h};' for h in hs]
                               + [f'import static dev.baton.engine.tensor.VectorKernels.{s};' for s in used])
    (RV, VV), singles = tiles[0], [R for (R, _) in tiles[1:]]
    single_words = ', then '.join(f'{R} x 1' for R in singles if R > 1)
    if quant:
        order = t['order']
    else:
        order = ('{@code acc = fma(w_i, x_i, acc)} over the {@code L}-wide chunks in order, the lanes summed by\n'
                 ' * {@link VectorKernels#sumLanes}, then the columns past the last whole chunk added one by one\n'
                 ' * with {@code Math.fma}.')
    doc = f'''/**
 * {t['desc']} with the Vector API. The tile methods are generated (see {{@link VectorKernels}} for
 * why they are written out): {RV} x {VV} tiles (rows x vectors) over whole groups of {VV} vectors,
 * {single_words} tiles for the vectors left over, and single-row tiles for the rows left over. A tile
 * reads each weight chunk once for all its vectors and each input chunk once for all its rows.
 *
 * <p>Every (row, vector) element has the same fixed order whatever tile computes it:
 * {order}{t.get('note', '')}
 */'''
    consts = ('    private static final int BB = BLOCK_BYTES;\n    private static final int QK = InputBatch.QK;\n\n' if quant else '')
    src = f'''package dev.baton.engine.tensor;

{static_imports}

import dev.baton.engine.gguf.GgufTensorInfo;
import java.lang.foreign.MemorySegment;
{imports}

// Generated by engine/src/gen/vector_kernels.py: change the generator, not this file.
{doc}
final class {t['cls']} extends {t['base']} {{

{consts}    {t['cls']}(GgufTensorInfo t) {{
        super(t);
    }}

    @Override
    public KernelMode mode() {{
        return KernelMode.VECTOR;
    }}

{ind(4, mm)}
'''
    for body in bodies:
        src += '\n' + ind(4, body) + '\n'
    src += '}\n'
    open(OUT + t['cls'] + '.java', 'w').write(src)

if len(sys.argv) > 1:
    # overrides: NAME=RVxVV,RRx1
    for a in sys.argv[1:]:
        k, v = a.split('=')
        parts = v.split(',')
        tl = [tuple(int(z) for z in p.split('x')) for p in parts]
        (ETYPES.get(k) or QTYPES.get(k))['tiles'] = tl
for n, t in ETYPES.items():
    emit(n, t, False)
for n, t in QTYPES.items():
    emit(n, t, True)
