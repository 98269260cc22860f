"""Moving frames between host images and engine tensors: the one place pixels change format.

Host side: H×W×C numpy arrays of ``uint8`` (or ``uint16`` for deep sources), as the decoder
yields, the encoder takes and image files hold them. Engine side: (C, H, W) float32 in [0, 1]
(C = 3, RGB, for the engines). Scaling is by 255 or 65535, and floats become integers by
clipping to [0, 1] and rounding to the nearest level; 16-bit pixels become 8-bit by rounding too
(``to_uint8``), never by dropping the low byte. Every other module converts through here.

On a CUDA device every frame crosses the bus once, as integers (a quarter of the float bytes),
through a small ring of pinned host buffers so copies run asynchronously on a side stream and
overlap with compute; scaling to float and back, clipping and rounding happen on the device.
On the CPU each conversion is one numpy/OpenCV pass with no staging, and an uploaded frame keeps
the decoder's channel-last memory (a (C, H, W) view of an H×W×C array): OpenCV engines then
sample all channels in one call, and no torch operator (with its OpenMP threads spinning beside
the decoder, encoder and flow threads on a small machine) runs per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from frameinterp.errors import InvalidInputError

RING_SIZE = 3  # uploads in flight before a buffer is reused

PIXEL_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))


def pixel_dtype(dtype: np.dtype | type) -> np.dtype:
    """``dtype`` as a numpy dtype, checked to be one that pixels come in (uint8 or uint16)."""
    checked = np.dtype(dtype)
    if checked not in PIXEL_DTYPES:
        raise InvalidInputError(f"pixels must be uint8 or uint16, got {checked}")
    return checked


def pixel_peak(dtype: np.dtype | type) -> float:
    """The value that stands for 1.0: 255 for uint8, 65535 for uint16."""
    return 65535.0 if np.dtype(dtype) == np.uint16 else 255.0


def _host_tensor(image: np.ndarray) -> torch.Tensor:
    """A tensor view of ``image``; uint16 is widened because few torch ops take it."""
    if image.dtype == np.uint16:
        return torch.from_numpy(image.astype(np.int32))
    return torch.from_numpy(np.ascontiguousarray(image))


def to_float(pixels: torch.Tensor, dtype: np.dtype) -> torch.Tensor:
    """H×W×C integer pixels (any device) → contiguous (C, H, W) float32 in [0, 1]: the device
    path (CPU frames take ``host_float``, which keeps their channel-last memory)."""
    planes = pixels.permute(2, 0, 1).to(dtype=torch.float32, memory_format=torch.contiguous_format)
    return planes.div_(pixel_peak(dtype))


def host_float(image: np.ndarray) -> torch.Tensor:
    """H×W×C uint8/uint16 pixels → (C, H, W) float32 in [0, 1] on the CPU, channel-last in
    memory; the same numbers as ``to_float`` (each value divided by the peak), in one pass."""
    scaled = np.divide(image, np.float32(pixel_peak(image.dtype)), dtype=np.float32)
    return torch.from_numpy(scaled).permute(2, 0, 1)


def host_pixels(frame: torch.Tensor, dtype: np.dtype) -> np.ndarray:
    """(C, H, W) float32 CPU frame → H×W×C pixels of ``dtype``: ``to_pixels``'s clip, scale and
    round-to-nearest-even in one OpenCV pass (no copy first when the frame is channel-last)."""
    channels = frame.detach().permute(1, 2, 0).numpy()
    if channels.shape[2] > 4:  # OpenCV images have at most 4 channels
        return to_pixels(frame, dtype).numpy().astype(dtype, copy=False)
    depth = cv2.CV_16U if dtype == np.uint16 else cv2.CV_8U
    peak = pixel_peak(dtype)
    values = np.ascontiguousarray(channels)
    pixels = cv2.addWeighted(values, peak, values, 0.0, 0.0, dtype=depth)
    return pixels.reshape(channels.shape)


def _is_host_float(frame: torch.Tensor) -> bool:
    return frame.device.type == "cpu" and frame.dtype == torch.float32


def to_pixels(frame: torch.Tensor, dtype: np.dtype) -> torch.Tensor:
    """(C, H, W) float → H×W×C integer pixels on the same device: clip, scale, round.

    uint16 pixels come back as int32 (torch has few uint16 ops); ``FrameTransfer.download`` and
    ``image_from_tensor`` narrow them.
    """
    deep = dtype == np.uint16
    scaled = (frame.detach().float().clamp(0.0, 1.0) * pixel_peak(dtype)).round_()
    return scaled.permute(1, 2, 0).to(torch.int32 if deep else torch.uint8).contiguous()


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """H×W×C (or H×W) uint8/uint16 pixels → (C, H, W) float32 in [0, 1] on the CPU."""
    pixel_dtype(image.dtype)
    return host_float(image if image.ndim == 3 else image[:, :, None])


def image_from_tensor(frame: torch.Tensor, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """(C, H, W) float on any device → H×W×C numpy pixels of ``dtype``: clip, scale, round."""
    checked = pixel_dtype(dtype)
    if _is_host_float(frame):
        return host_pixels(frame, checked)
    pixels = to_pixels(frame, checked).cpu().numpy()
    return np.ascontiguousarray(pixels.astype(checked, copy=False))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 pixels unchanged; uint16 rounded to the nearest 8-bit level (``round(v / 257)``).

    The same result as going through floats (``v / 65535 * 255``, rounded): 65535 = 255 · 257,
    and ``v / 257`` is never exactly half-way between two levels, so there is no tie to break.
    """
    if pixel_dtype(image.dtype) == np.uint8:
        return image
    return ((image.astype(np.uint32) * 2 + 257) // 514).astype(np.uint8)


@dataclass
class _Staging:
    buffer: torch.Tensor
    done: torch.cuda.Event


class FrameTransfer:
    """Uploads host images to ``device`` and downloads results, once per frame."""

    def __init__(self, device: torch.device | str) -> None:
        self.device = torch.device(device)
        self._cuda = self.device.type == "cuda"
        self._ring: dict[tuple[tuple[int, ...], torch.dtype], list[_Staging]] = {}
        self._turn = 0
        self._stream = torch.cuda.Stream(self.device) if self._cuda else None

    def upload(self, image: np.ndarray) -> torch.Tensor:
        """H×W×3 RGB → (3, H, W) float32 in [0, 1] on the device."""
        if not self._cuda:
            return host_float(image)
        host = _host_tensor(image)
        assert self._stream is not None  # set whenever the device is CUDA
        staging = self._next_staging(host)
        staging.done.synchronize()  # the copy that last used this buffer has finished
        staging.buffer.copy_(host)
        with torch.cuda.stream(self._stream):
            pixels = staging.buffer.to(self.device, non_blocking=True)
            staging.done.record(self._stream)
        torch.cuda.current_stream(self.device).wait_stream(self._stream)
        pixels.record_stream(torch.cuda.current_stream(self.device))
        return to_float(pixels, image.dtype)

    def download(self, frame: torch.Tensor, dtype: np.dtype | type = np.uint8) -> np.ndarray:
        """(3, H, W) float → H×W×3 RGB numpy array of ``dtype`` (uint8 or uint16)."""
        dtype = np.dtype(dtype)
        if _is_host_float(frame):
            return host_pixels(frame, dtype)
        pixels = to_pixels(frame, dtype)
        if pixels.is_cuda:
            host = torch.empty(pixels.shape, dtype=pixels.dtype, pin_memory=True)
            host.copy_(pixels, non_blocking=True)
            torch.cuda.current_stream(pixels.device).synchronize()
            pixels = host
        return np.ascontiguousarray(pixels.numpy().astype(dtype, copy=False))

    def _next_staging(self, host: torch.Tensor) -> _Staging:
        key = (tuple(host.shape), host.dtype)
        if key not in self._ring:
            self._ring[key] = [
                _Staging(
                    torch.empty(host.shape, dtype=host.dtype, pin_memory=True), torch.cuda.Event()
                )
                for _ in range(RING_SIZE)
            ]
        self._turn = (self._turn + 1) % RING_SIZE
        return self._ring[key][self._turn]
