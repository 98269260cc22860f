// Inference-only softmax splatting in two passes, with no intermediate tensors.
//
// Pass 1 (splat_weighted_*): one thread per source pixel computes its weight once
//   avg: 1, linear: metric, soft: exp(metric - shift[n])
// and adds weight * image[c] for every channel plus the weight itself to the four bilinear
// neighbours of its landing position, in a float32 accumulator N x (C + 1) x H x W.
// Pass 2 (splat_normalise_*): output[c] = numerator[c] / weight where weight != 0, else 0,
// stored in the image's dtype.
//
// The per-sample shift (the metric's maximum) keeps exp() in range for any metric; it cancels
// in the ratio. Inputs are contiguous N x C x H x W (image, float32 or float16 as raw 16-bit
// words converted with PTX), N x 2 x H x W (flow) and N x 1 x H x W (metric); flow and metric
// are float32 for every image dtype, like the PyTorch path, so float16 images neither move
// landing points nor round the softmax weights.
// Shapes are kernel arguments: one compiled module serves every resolution.

#include "landing.cuh"

#define MODE_AVG 0
#define MODE_LINEAR 1
#define MODE_SOFT 2

template <typename T>
__device__ void splat_weighted(long long total, int channels, int height, int width, int mode,
                               const T* image, const float* flow, const float* metric,
                               const float* shift, float* accumulator) {
    const long long plane = (long long)height * width;
    GRID_STRIDE_LOOP(index, total) {  // total = N * H * W
        const long long n = index / plane;
        const long long pixel = index - n * plane;
        Landing landing;
        if (!land(flow, n, pixel, height, width, &landing)) continue;
        float weight = 1.0f;
        if (mode == MODE_LINEAR) weight = metric[n * plane + pixel];
        if (mode == MODE_SOFT) weight = __expf(metric[n * plane + pixel] - shift[n]);
        float* base = accumulator + n * (channels + 1) * plane;
        for (int corner = 0; corner < 4; ++corner) {
            if (!landing.inside(corner, width, height)) continue;
            const long long offset = landing.offset(corner, width);
            const float share = weight * landing.weight(corner);
            for (int c = 0; c < channels; ++c) {
                const float value = load_float(image, (n * channels + c) * plane + pixel);
                atomicAdd(base + c * plane + offset, share * value);
            }
            atomicAdd(base + channels * plane + offset, share);
        }
    }
}

template <typename T>
__device__ void splat_normalise(long long total, int channels, int height, int width,
                                const float* accumulator, T* output) {
    const long long plane = (long long)height * width;
    GRID_STRIDE_LOOP(index, total) {  // total = N * H * W
        const long long n = index / plane;
        const long long pixel = index - n * plane;
        const float* base = accumulator + n * (channels + 1) * plane;
        const float weight = base[channels * plane + pixel];
        const float scale = weight != 0.0f ? 1.0f / weight : 0.0f;
        for (int c = 0; c < channels; ++c) {
            store_float(output, (n * channels + c) * plane + pixel, base[c * plane + pixel] * scale);
        }
    }
}

extern "C" __global__ void splat_weighted_f32(long long total, int channels, int height,
                                              int width, int mode, const float* image,
                                              const float* flow, const float* metric,
                                              const float* shift, float* accumulator) {
    splat_weighted(total, channels, height, width, mode, image, flow, metric, shift, accumulator);
}

extern "C" __global__ void splat_weighted_f16(long long total, int channels, int height,
                                              int width, int mode, const unsigned short* image,
                                              const float* flow, const float* metric,
                                              const float* shift, float* accumulator) {
    splat_weighted(total, channels, height, width, mode, image, flow, metric, shift, accumulator);
}

extern "C" __global__ void splat_normalise_f32(long long total, int channels, int height,
                                               int width, const float* accumulator,
                                               float* output) {
    splat_normalise(total, channels, height, width, accumulator, output);
}

extern "C" __global__ void splat_normalise_f16(long long total, int channels, int height,
                                               int width, const float* accumulator,
                                               unsigned short* output) {
    splat_normalise(total, channels, height, width, accumulator, output);
}
