#!/usr/bin/env python3
"""Reference embeddings of Resemblyzer's GE2E voice encoder, computed with numpy from pretrained.pt.

Checks the Rust encoder (`veriscribe_asr::speaker_embedding`) against an independent implementation
of the same network: the legacy PyTorch file is read with `pickle` (no torch), the mel spectrogram
follows resemblyzer/audio.py (librosa.feature.melspectrogram: 400-point periodic Hann window, 160
hop, centred with reflect padding, power 2, 40 Slaney mel bands 0-8 kHz, Slaney area norm) and the
network resemblyzer/voice_encoder.py (3-layer LSTM 256, last layer's final hidden state, linear 256,
ReLU, L2 norm).

Usage: python3 bench/ge2e_reference.py PRETRAINED_PT [WAV ...]   (numpy needed; WAV 16 kHz mono)
Without WAVs it prints the embedding of the deterministic test signal used by the Rust unit test.
"""

import collections
import pickle
import struct
import sys
import wave

import numpy as np


def load_state(path):
    with open(path, "rb") as fh:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(fh)
        storages = {}

        class Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if name == "_rebuild_tensor_v2":
                    return lambda key, offset, size, stride, *rest: (key, offset, size, stride)
                if module == "collections" and name == "OrderedDict":
                    return collections.OrderedDict
                if module.startswith("torch"):
                    return name
                return super().find_class(module, name)

            def persistent_load(self, pid):
                storages[pid[2]] = pid[1]
                return pid[2]

        checkpoint = Unpickler(fh).load()
        data = {}
        for key in pickle.load(fh):
            count = struct.unpack("<q", fh.read(8))[0]
            size = {"FloatStorage": 4, "LongStorage": 8, "IntStorage": 4, "DoubleStorage": 8}[storages[key]]
            data[key] = fh.read(count * size)

    def tensor(spec):
        key, offset, shape, stride = spec
        flat = np.frombuffer(data[key], dtype="<f4")
        return np.lib.stride_tricks.as_strided(flat[offset:], shape=shape,
                                               strides=[4 * s for s in stride]).copy()

    return {name: tensor(spec) for name, spec in checkpoint["model_state"].items()}


def mel_filters(sr=16000, n_fft=400, n_mels=40):
    # librosa.filters.mel with htk=False (Slaney scale) and norm="slaney".
    def hz_to_mel(f):
        f = np.asanyarray(f, dtype=np.float64)
        mels = f / (200.0 / 3)
        log_t = f >= 1000.0
        return np.where(log_t, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mels)

    def mel_to_hz(m):
        m = np.asanyarray(m, dtype=np.float64)
        freqs = m * (200.0 / 3)
        log_t = m >= 15.0
        return np.where(log_t, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), freqs)

    fftfreqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    weights = np.zeros((n_mels, len(fftfreqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights


def mel_spectrogram(wav):
    n_fft, hop = 400, 160
    padded = np.pad(wav.astype(np.float64), n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    count = 1 + len(wav) // hop
    frames = np.stack([padded[i * hop:i * hop + n_fft] * window for i in range(count)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    return (power @ mel_filters().T).astype(np.float32)  # (frames, 40)


def embed_partial(state, mels):
    x = mels.astype(np.float64)
    for layer in range(3):
        w_ih, w_hh = state[f"lstm.weight_ih_l{layer}"], state[f"lstm.weight_hh_l{layer}"]
        bias = state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]
        h = np.zeros(256)
        c = np.zeros(256)
        outputs = []
        for frame in x:
            gates = w_ih @ frame + w_hh @ h + bias
            i, f, g, o = np.split(gates, 4)  # PyTorch gate order: input, forget, cell, output
            sig = lambda v: 1.0 / (1.0 + np.exp(-v))
            c = sig(f) * c + sig(i) * np.tanh(g)
            h = sig(o) * np.tanh(c)
            outputs.append(h)
        x = np.array(outputs)
    raw = np.maximum(0, state["linear.weight"] @ h + state["linear.bias"])
    return raw / np.linalg.norm(raw)


def test_signal():
    # The same deterministic signal as the Rust unit test: 1.6 s of a gliding harmonic tone with
    # a little LCG noise.
    n = 25600
    t = np.arange(n) / 16000.0
    f0 = 120.0 + 40.0 * t
    phase = 2 * np.pi * np.cumsum(f0) / 16000.0
    signal = sum(np.sin(k * phase) / k for k in range(1, 6)) * 0.1
    state = 12345
    noise = np.empty(n)
    for i in range(n):
        state = (state * 1103515245 + 12345) % (1 << 31)
        noise[i] = (state / (1 << 31) - 0.5) * 0.01
    return (signal + noise).astype(np.float32)


def read_wav(path):
    with wave.open(path) as fh:
        assert fh.getframerate() == 16000 and fh.getnchannels() == 1 and fh.getsampwidth() == 2
        return np.frombuffer(fh.readframes(fh.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def main():
    state = load_state(sys.argv[1])
    if len(sys.argv) == 2:
        mels = mel_spectrogram(test_signal())[:160]
        print("mel[10][0..4]", " ".join(f"{v:.6e}" for v in mels[10][:4]))
        emb = embed_partial(state, mels)
        print("embedding[0..8]", " ".join(f"{v:.6f}" for v in emb[:8]))
        print("nonzero", int((emb > 0).sum()), "argmax", int(emb.argmax()), f"max {emb.max():.6f}")
        return
    for path in sys.argv[2:]:
        mels = mel_spectrogram(read_wav(path))[:160]
        emb = embed_partial(state, mels)
        print(path, "first 1.6 s:", " ".join(f"{v:.5f}" for v in emb[:6]))


if __name__ == "__main__":
    main()
