#!/usr/bin/env bash
# Downloads the full official data sets into DIR and verifies their SHA-256 checksums:
#   DIR/mnist/            train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-*.gz
#   DIR/cifar10/          data_batch_1.bin .. data_batch_5.bin, test_batch.bin, batches.meta.txt
#   DIR/tinyshakespeare/  input.txt
# Then train with `--data-dir DIR`. Re-running skips files already downloaded and verified.
#
# Usage: scripts/fetch-datasets.sh DIR
set -euo pipefail

dir=${1:?usage: $0 DIR}
mkdir -p "$dir/mnist" "$dir/cifar10" "$dir/tinyshakespeare"

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1; }

# fetch URL FILE SHA256: download unless present, then verify (a bad file is deleted).
fetch() {
  local url=$1 file=$2 want=$3 got
  [ -f "$file" ] || { echo "downloading $url"; curl -fL --retry 3 -o "$file.part" "$url"; mv "$file.part" "$file"; }
  got=$(sha256 "$file")
  if [ "$got" != "$want" ]; then
    echo "checksum mismatch for $file: expected $want, got $got (file removed, run again)" >&2
    rm -f "$file"; exit 1
  fi
  echo "ok  $file"
}

# MNIST: the mirror torchvision uses (the original http://yann.lecun.com/exdb/mnist/ often refuses downloads).
mnist=https://ossci-datasets.s3.amazonaws.com/mnist
fetch $mnist/train-images-idx3-ubyte.gz "$dir/mnist/train-images-idx3-ubyte.gz" 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609
fetch $mnist/train-labels-idx1-ubyte.gz "$dir/mnist/train-labels-idx1-ubyte.gz" 3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c
fetch $mnist/t10k-images-idx3-ubyte.gz  "$dir/mnist/t10k-images-idx3-ubyte.gz"  8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6
fetch $mnist/t10k-labels-idx1-ubyte.gz  "$dir/mnist/t10k-labels-idx1-ubyte.gz"  f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6

# CIFAR-10, binary version (official MD5 c32a1d4ab5d03f1284b67883e8d87530).
fetch https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz "$dir/cifar-10-binary.tar.gz" c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd
tar -xzf "$dir/cifar-10-binary.tar.gz" -C "$dir/cifar10" --strip-components=1 cifar-10-batches-bin
echo "ok  $dir/cifar10 (extracted)"

# Tiny Shakespeare, from karpathy/char-rnn.
fetch https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt \
  "$dir/tinyshakespeare/input.txt" 86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed

echo "done: pass --data-dir $dir"
