#!/usr/bin/env python3
# Fashion-MNIST downsampled to 4x4 (7x7 block means), classes 0-3 only: a 16-input, 4-class set.
# Usage: msnn_fm4_dataset.py OUT_DIR   (IDX files for `memspice train --dataset OUT_DIR`)
import gzip, os, struct, sys
src = '/usr/share/datasets/fashion-mnist/'
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
def load(kind, limit):
    with gzip.open(src + f'{kind}-images-idx3-ubyte.gz') as f:
        _, n, r, c = struct.unpack('>IIII', f.read(16)); img = f.read()
    with gzip.open(src + f'{kind}-labels-idx1-ubyte.gz') as f:
        f.read(8); lab = f.read()
    X, Y = [], []
    for k in range(min(n, limit)):
        if lab[k] > 3: continue
        b = img[k * 784:(k + 1) * 784]
        X.append(bytes(sum(b[(7 * bi + i) * 28 + 7 * bj + j] for i in range(7) for j in range(7)) // 49
                       for bi in range(4) for bj in range(4)))
        Y.append(lab[k])
    return X, Y
for kind, limit in (('train', 12000), ('t10k', 2000)):
    X, Y = load(kind, limit)
    with open(f'{out}/{kind}-images-idx3-ubyte', 'wb') as f:
        f.write(struct.pack('>IIII', 0x803, len(X), 4, 4)); f.write(b''.join(X))
    with open(f'{out}/{kind}-labels-idx1-ubyte', 'wb') as f:
        f.write(struct.pack('>II', 0x801, len(Y))); f.write(bytes(Y))
    print(kind, len(X))
