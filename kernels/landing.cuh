// Where a splatted source pixel lands, shared by the softsplat kernels.
//
// Source pixel (n, y, x) moves to (x + flow_x, y + flow_y). Its value goes to the four integer
// pixels around that point with bilinear weights; corner 0 is top-left, 1 top-right,
// 2 bottom-left, 3 bottom-right. Corners outside the frame are dropped by the callers.
#pragma once
#include "common.cuh"

struct Landing {
    int x0, y0;  // top-left corner
    float ax, ay;  // fractional offsets from it, in [0, 1)

    __device__ __forceinline__ int x(int corner) const { return x0 + (corner & 1); }
    __device__ __forceinline__ int y(int corner) const { return y0 + (corner >> 1); }
    __device__ __forceinline__ bool inside(int corner, int width, int height) const {
        return x(corner) >= 0 && y(corner) >= 0 && x(corner) < width && y(corner) < height;
    }
    __device__ __forceinline__ long long offset(int corner, int width) const {
        return (long long)y(corner) * width + x(corner);
    }
    __device__ __forceinline__ float weight_x(int corner) const {
        return (corner & 1) ? ax : 1.0f - ax;
    }
    __device__ __forceinline__ float weight_y(int corner) const {
        return (corner >> 1) ? ay : 1.0f - ay;
    }
    __device__ __forceinline__ float weight(int corner) const {
        return weight_x(corner) * weight_y(corner);
    }
    // Derivatives of weight(corner) with respect to the landing point's x and y.
    __device__ __forceinline__ float weight_dx(int corner) const {
        return ((corner & 1) ? 1.0f : -1.0f) * weight_y(corner);
    }
    __device__ __forceinline__ float weight_dy(int corner) const {
        return weight_x(corner) * ((corner >> 1) ? 1.0f : -1.0f);
    }
};

// Fills ``landing`` for source pixel ``pixel`` (= y * width + x) of batch item ``n``. Returns
// false when the target is not finite or no corner can lie inside the frame. The flow is float32
// for every image dtype: in float16 a landing point 300 px away would move by up to 0.125 px.
__device__ __forceinline__ bool land(const float* flow, long long n, long long pixel, int height,
                                     int width, Landing* landing) {
    const long long plane = (long long)height * width;
    const int y = (int)(pixel / width);
    const int x = (int)(pixel - (long long)y * width);
    const float fx = (float)x + flow[(2 * n) * plane + pixel];
    const float fy = (float)y + flow[(2 * n + 1) * plane + pixel];
    if (!isfinite(fx) || !isfinite(fy)) return false;
    const float left = floorf(fx);
    const float top = floorf(fy);
    if (left < -1.0f || top < -1.0f || left >= (float)width || top >= (float)height) return false;
    landing->x0 = (int)left;
    landing->y0 = (int)top;
    landing->ax = fx - left;
    landing->ay = fy - top;
    return true;
}
