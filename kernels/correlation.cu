// Cost volume (correlation) between two feature maps, search radius given at launch.
//
// volume[n, d, y, x] = mean over c of one[n, c, y, x] * two[n, c, y + dy, x + dx]
// with d = (dy + radius) * (2 * radius + 1) + (dx + radius), dy and dx in [-radius, radius],
// and two read as 0 outside the image. All tensors are contiguous NCHW. Shapes and the radius
// are kernel arguments, so a new resolution never recompiles.
//
// Feature maps are float32 or float16 (float16 read as raw 16-bit words converted with PTX `cvt`,
// so NVRTC needs no headers); the volume, its incoming gradient and the feature gradients are
// float32, like the softsplat kernels. Every launch is a grid-stride loop over `total` items.
// Every output element is written by exactly one thread: no atomics, deterministic results.

#include "common.cuh"

// One thread per output element (n, d, y, x).
template <typename scalar_t>
__device__ void correlation_forward(
    long long total, int channels, int height, int width, int radius,
    const scalar_t* one, const scalar_t* two, float* volume) {
    const int diameter = 2 * radius + 1;
    const long long plane = (long long)height * width;
    GRID_STRIDE_LOOP(index, total) {
        const int x = (int)(index % width);
        const int y = (int)((index / width) % height);
        const int d = (int)((index / plane) % (diameter * diameter));
        const int n = (int)(index / (plane * diameter * diameter));
        const int y_two = y + d / diameter - radius;
        const int x_two = x + d % diameter - radius;
        float sum = 0.0f;
        if (y_two >= 0 && y_two < height && x_two >= 0 && x_two < width) {
            const scalar_t* one_pixel = one + (long long)n * channels * plane + (long long)y * width + x;
            const scalar_t* two_pixel =
                two + (long long)n * channels * plane + (long long)y_two * width + x_two;
            for (int c = 0; c < channels; ++c) {
                sum += load_float(one_pixel, c * plane) * load_float(two_pixel, c * plane);
            }
        }
        volume[index] = sum / (float)channels;
    }
}

// Gradient with respect to `one`: one thread per (n, c, y, x), summing over displacements.
template <typename scalar_t>
__device__ void correlation_backward_one(
    long long total, int channels, int height, int width, int radius,
    const float* grad_volume, const scalar_t* two, float* grad_one) {
    const int diameter = 2 * radius + 1;
    const long long plane = (long long)height * width;
    GRID_STRIDE_LOOP(index, total) {
        const int x = (int)(index % width);
        const int y = (int)((index / width) % height);
        const long long nc = index / plane;
        const int n = (int)(nc / channels);
        const scalar_t* two_plane = two + nc * plane;
        const float* grad_pixel =
            grad_volume + (long long)n * diameter * diameter * plane + (long long)y * width + x;
        float sum = 0.0f;
        for (int d = 0; d < diameter * diameter; ++d) {
            const int y_two = y + d / diameter - radius;
            const int x_two = x + d % diameter - radius;
            if (y_two >= 0 && y_two < height && x_two >= 0 && x_two < width) {
                sum += grad_pixel[d * plane] *
                       load_float(two_plane, (long long)y_two * width + x_two);
            }
        }
        grad_one[index] = sum / (float)channels;
    }
}

// Gradient with respect to `two`: pixel (y, x) of `two` was read by pixel (y - dy, x - dx) of
// `one` for displacement d; one thread per (n, c, y, x) gathers those terms.
template <typename scalar_t>
__device__ void correlation_backward_two(
    long long total, int channels, int height, int width, int radius,
    const float* grad_volume, const scalar_t* one, float* grad_two) {
    const int diameter = 2 * radius + 1;
    const long long plane = (long long)height * width;
    GRID_STRIDE_LOOP(index, total) {
        const int x = (int)(index % width);
        const int y = (int)((index / width) % height);
        const long long nc = index / plane;
        const int n = (int)(nc / channels);
        const scalar_t* one_plane = one + nc * plane;
        const float* grad_sample = grad_volume + (long long)n * diameter * diameter * plane;
        float sum = 0.0f;
        for (int d = 0; d < diameter * diameter; ++d) {
            const int y_one = y - (d / diameter - radius);
            const int x_one = x - (d % diameter - radius);
            if (y_one >= 0 && y_one < height && x_one >= 0 && x_one < width) {
                const long long offset = (long long)y_one * width + x_one;
                sum += grad_sample[d * plane + offset] * load_float(one_plane, offset);
            }
        }
        grad_two[index] = sum / (float)channels;
    }
}

// Plain C entry points, one per dtype, found by name by frameinterp.ops.correlation.
#define CORRELATION_ENTRY_POINTS(suffix, scalar_t)                                             \
    extern "C" __global__ void correlation_forward_##suffix(                                  \
        long long total, int channels, int height, int width, int radius,                     \
        const scalar_t* one, const scalar_t* two, float* volume) {                            \
        correlation_forward<scalar_t>(total, channels, height, width, radius, one, two,       \
                                      volume);                                                \
    }                                                                                         \
    extern "C" __global__ void correlation_backward_one_##suffix(                             \
        long long total, int channels, int height, int width, int radius,                     \
        const float* grad_volume, const scalar_t* two, float* grad_one) {                     \
        correlation_backward_one<scalar_t>(total, channels, height, width, radius,            \
                                           grad_volume, two, grad_one);                       \
    }                                                                                         \
    extern "C" __global__ void correlation_backward_two_##suffix(                             \
        long long total, int channels, int height, int width, int radius,                     \
        const float* grad_volume, const scalar_t* one, float* grad_two) {                     \
        correlation_backward_two<scalar_t>(total, channels, height, width, radius,            \
                                           grad_volume, one, grad_two);                       \
    }

CORRELATION_ENTRY_POINTS(f32, float)
CORRELATION_ENTRY_POINTS(f16, unsigned short)
