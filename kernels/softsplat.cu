// Bilinear forward splatting (summation) and its gradients, for frameinterp.ops.softsplat.
//
// Every source pixel (n, y, x) moves to (x + flow_x, y + flow_y) and adds its value, weighted
// bilinearly, to the four integer pixels around that position. Sources landing outside the
// frame are dropped. The modes (avg, linear, soft) are built on top of this sum in Python by
// splatting an extra weight channel and normalising.
//
// Layout: values N x C x H x W, flow N x 2 x H x W (x then y), both contiguous. Values are
// float32 or float16 (passed as raw 16-bit words and converted with PTX, so NVRTC needs no
// headers); the flow is always float32, so landing points do not depend on the image dtype.
// Accumulators and gradients are float32. Shapes are kernel arguments: a new resolution
// reuses the compiled module. Loops are grid-stride so any launch size covers any tensor.

#include "landing.cuh"

template <typename T>
__device__ void splat_forward(long long total, int channels, int height, int width,
                              const T* values, const float* flow, float* output) {
    const long long plane = (long long)height * width;
    GRID_STRIDE_LOOP(index, total) {
        const long long nc = index / plane;  // n * channels + c
        Landing landing;
        if (!land(flow, nc / channels, index - nc * plane, height, width, &landing)) continue;
        const float value = load_float(values, index);
        float* target = output + nc * plane;
        for (int corner = 0; corner < 4; ++corner) {
            if (landing.inside(corner, width, height)) {
                atomicAdd(target + landing.offset(corner, width), value * landing.weight(corner));
            }
        }
    }
}

// d loss / d values: each source reads the output gradient back at its four corners. It needs
// only the flow (float32), so one kernel serves both value dtypes.
extern "C" __global__ void splat_backward_values(long long total, int channels, int height,
                                                 int width, const float* flow,
                                                 const float* grad_output, float* grad_values) {
    const long long plane = (long long)height * width;
    GRID_STRIDE_LOOP(index, total) {
        const long long nc = index / plane;
        Landing landing;
        float gradient = 0.0f;
        if (land(flow, nc / channels, index - nc * plane, height, width, &landing)) {
            const float* source = grad_output + nc * plane;
            for (int corner = 0; corner < 4; ++corner) {
                if (landing.inside(corner, width, height)) {
                    gradient += landing.weight(corner) * source[landing.offset(corner, width)];
                }
            }
        }
        grad_values[index] = gradient;
    }
}

// d loss / d flow: one thread per source pixel, summing over channels.
template <typename T>
__device__ void splat_backward_flow(long long total, int channels, int height, int width,
                                    const T* values, const float* flow, const float* grad_output,
                                    float* grad_flow) {
    const long long plane = (long long)height * width;
    GRID_STRIDE_LOOP(index, total) {  // total = N * H * W
        const long long n = index / plane;
        const long long pixel = index - n * plane;
        Landing landing;
        float grad_x = 0.0f;
        float grad_y = 0.0f;
        if (land(flow, n, pixel, height, width, &landing)) {
            for (int corner = 0; corner < 4; ++corner) {
                if (!landing.inside(corner, width, height)) continue;
                const long long offset = landing.offset(corner, width);
                float dot = 0.0f;
                for (int c = 0; c < channels; ++c) {
                    const long long base = (n * channels + c) * plane;
                    dot += load_float(values, base + pixel) * grad_output[base + offset];
                }
                grad_x += landing.weight_dx(corner) * dot;
                grad_y += landing.weight_dy(corner) * dot;
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
                                             const unsigned short* values, const float* flow,
                                             float* output) {
    splat_forward(total, channels, height, width, values, flow, output);
}

extern "C" __global__ void splat_backward_flow_f32(long long total, int channels, int height,
                                                   int width, const float* values,
                                                   const float* flow, const float* grad_output,
                                                   float* grad_flow) {
    splat_backward_flow(total, channels, height, width, values, flow, grad_output, grad_flow);
}

extern "C" __global__ void splat_backward_flow_f16(long long total, int channels, int height,
                                                   int width, const unsigned short* values,
                                                   const float* flow, const float* grad_output,
                                                   float* grad_flow) {
    splat_backward_flow(total, channels, height, width, values, flow, grad_output, grad_flow);
}
