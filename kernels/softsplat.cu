// Bilinear forward splatting (summation) and its gradients, for frameinterp.ops.softsplat.
//
// Every source pixel (n, y, x) moves to (x + flow_x, y + flow_y) and adds its value, weighted
// bilinearly, to the four integer pixels around that position. Sources landing outside the
// frame are dropped. The modes (avg, linear, soft) are built on top of this sum in Python by
// splatting an extra weight channel and normalising.
//
// Layout: values N x C x H x W, flow N x 2 x H x W (x then y), both contiguous, float32 or
// float16 (passed as raw 16-bit words and converted with PTX, so NVRTC needs no headers).
// Accumulators and gradients are float32. Shapes are kernel arguments: a new resolution
// reuses the compiled module. Loops are grid-stride so any launch size covers any tensor.

#include "common.cuh"

// Where a source pixel lands: the top-left integer corner and the fractional offsets.
// Returns false when the target is not finite or no corner can lie inside the frame.
template <typename T>
__device__ __forceinline__ bool landing(const T* flow, long long n, int y, int x, int height,
                                        int width, int* x0, int* y0, float* ax, float* ay) {
    const long long plane = (long long)height * width;
    const float fx = (float)x + load_float(flow, (2 * n) * plane + (long long)y * width + x);
    const float fy = (float)y + load_float(flow, (2 * n + 1) * plane + (long long)y * width + x);
    if (!isfinite(fx) || !isfinite(fy)) return false;
    const float left = floorf(fx);
    const float top = floorf(fy);
    if (left < -1.0f || top < -1.0f || left >= (float)width || top >= (float)height) return false;
    *x0 = (int)left;
    *y0 = (int)top;
    *ax = fx - left;
    *ay = fy - top;
    return true;
}

__device__ __forceinline__ bool inside(int x, int y, int width, int height) {
    return x >= 0 && y >= 0 && x < width && y < height;
}

template <typename T>
__device__ void splat_forward(long long total, int channels, int height, int width,
                              const T* values, const T* flow, float* output) {
    const long long plane = (long long)height * width;
    GRID_STRIDE_LOOP(index, total) {
        const int x = (int)(index % width);
        const int y = (int)((index / width) % height);
        const long long nc = index / plane;  // n * channels + c
        const long long n = nc / channels;
        int x0, y0;
        float ax, ay;
        if (!landing(flow, n, y, x, height, width, &x0, &y0, &ax, &ay)) continue;
        const float value = load_float(values, index);
        float* target = output + nc * plane;
        const int xs[4] = {x0, x0 + 1, x0, x0 + 1};
        const int ys[4] = {y0, y0, y0 + 1, y0 + 1};
        const float ws[4] = {(1.0f - ax) * (1.0f - ay), ax * (1.0f - ay), (1.0f - ax) * ay,
                             ax * ay};
        for (int corner = 0; corner < 4; ++corner) {
            if (inside(xs[corner], ys[corner], width, height)) {
                atomicAdd(target + (long long)ys[corner] * width + xs[corner], value * ws[corner]);
            }
        }
    }
}

// d loss / d values: each source reads the output gradient back at its four corners.
template <typename T>
__device__ void splat_backward_values(long long total, int channels, int height, int width,
                                      const T* flow, const float* grad_output,
                                      float* grad_values) {
    const long long plane = (long long)height * width;
    GRID_STRIDE_LOOP(index, total) {
        const int x = (int)(index % width);
        const int y = (int)((index / width) % height);
        const long long nc = index / plane;
        const long long n = nc / channels;
        int x0, y0;
        float ax, ay;
        float gradient = 0.0f;
        if (landing(flow, n, y, x, height, width, &x0, &y0, &ax, &ay)) {
            const float* source = grad_output + nc * plane;
            const int xs[4] = {x0, x0 + 1, x0, x0 + 1};
            const int ys[4] = {y0, y0, y0 + 1, y0 + 1};
            const float ws[4] = {(1.0f - ax) * (1.0f - ay), ax * (1.0f - ay), (1.0f - ax) * ay,
                                 ax * ay};
            for (int corner = 0; corner < 4; ++corner) {
                if (inside(xs[corner], ys[corner], width, height)) {
                    gradient += ws[corner] * source[(long long)ys[corner] * width + xs[corner]];
                }
            }
        }
        grad_values[index] = gradient;
    }
}

// d loss / d flow: one thread per source pixel, summing over channels.
template <typename T>
__device__ void splat_backward_flow(long long total, int channels, int height, int width,
                                    const T* values, const T* flow, const float* grad_output,
                                    float* grad_flow) {
    const long long plane = (long long)height * width;
    GRID_STRIDE_LOOP(index, total) {  // total = N * H * W
        const int x = (int)(index % width);
        const int y = (int)((index / width) % height);
        const long long n = index / plane;
        const long long pixel = (long long)y * width + x;
        int x0, y0;
        float ax, ay;
        float grad_x = 0.0f;
        float grad_y = 0.0f;
        if (landing(flow, n, y, x, height, width, &x0, &y0, &ax, &ay)) {
            const int xs[4] = {x0, x0 + 1, x0, x0 + 1};
            const int ys[4] = {y0, y0, y0 + 1, y0 + 1};
            // derivatives of the four bilinear weights with respect to the target x and y
            const float dx[4] = {-(1.0f - ay), 1.0f - ay, -ay, ay};
            const float dy[4] = {-(1.0f - ax), -ax, 1.0f - ax, ax};
            for (int corner = 0; corner < 4; ++corner) {
                if (!inside(xs[corner], ys[corner], width, height)) continue;
                const long long offset = (long long)ys[corner] * width + xs[corner];
                float dot = 0.0f;
                for (int c = 0; c < channels; ++c) {
                    const long long base = (n * channels + c) * plane;
                    dot += load_float(values, base + pixel) * grad_output[base + offset];
                }
                grad_x += dx[corner] * dot;
                grad_y += dy[corner] * dot;
            }
        }
        grad_flow[(2 * n) * plane + pixel] = grad_x;
        grad_flow[(2 * n + 1) * plane + pixel] = grad_y;
    }
}

extern "C" __global__ void splat_forward_f32(long long total, int channels, int height, int width,
                                             const float* values, const float* flow,
                                             float* output) {
    splat_forward(total, channels, height, width, values, flow, output);
}

extern "C" __global__ void splat_forward_f16(long long total, int channels, int height, int width,
                                             const unsigned short* values,
                                             const unsigned short* flow, float* output) {
    splat_forward(total, channels, height, width, values, flow, output);
}

extern "C" __global__ void splat_backward_values_f32(long long total, int channels, int height,
                                                     int width, const float* flow,
                                                     const float* grad_output,
                                                     float* grad_values) {
    splat_backward_values(total, channels, height, width, flow, grad_output, grad_values);
}

extern "C" __global__ void splat_backward_values_f16(long long total, int channels, int height,
                                                     int width, const unsigned short* flow,
                                                     const float* grad_output,
                                                     float* grad_values) {
    splat_backward_values(total, channels, height, width, flow, grad_output, grad_values);
}

extern "C" __global__ void splat_backward_flow_f32(long long total, int channels, int height,
                                                   int width, const float* values,
                                                   const float* flow, const float* grad_output,
                                                   float* grad_flow) {
    splat_backward_flow(total, channels, height, width, values, flow, grad_output, grad_flow);
}

extern "C" __global__ void splat_backward_flow_f16(long long total, int channels, int height,
                                                   int width, const unsigned short* values,
                                                   const unsigned short* flow,
                                                   const float* grad_output, float* grad_flow) {
    splat_backward_flow(total, channels, height, width, values, flow, grad_output, grad_flow);
}
