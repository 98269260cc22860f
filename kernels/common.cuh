// Helpers shared by every frameinterp kernel (inlined into each source when it is compiled).
//
// Half precision is passed as raw 16-bit words and converted with PTX `cvt`, so NVRTC needs no
// CUDA headers; arithmetic and accumulation are float32. Launches use grid-stride loops, so any
// grid covers any tensor and shapes stay kernel arguments.
#pragma once

#define GRID_STRIDE_LOOP(index, total)                                                     \
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < (total); \
         index += (long long)blockDim.x * gridDim.x)

// The only device-specific lines: the PTX conversions between float and IEEE half bits. The
// host emulation used by the tests (tests/kernel_emulation.py) compiles this same text with g++,
// defines FRAMEINTERP_HOST_EMULATION and supplies these two functions with the host's _Float16.
#ifndef FRAMEINTERP_HOST_EMULATION
__device__ __forceinline__ float half_to_float(unsigned short bits) {
    float result;
    asm("cvt.f32.f16 %0, %1;" : "=f"(result) : "h"(bits));
    return result;
}

__device__ __forceinline__ unsigned short float_to_half(float value) {
    unsigned short bits;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(bits) : "f"(value));
    return bits;
}
#endif

__device__ __forceinline__ float load_float(const float* data, long long index) {
    return data[index];
}

__device__ __forceinline__ float load_float(const unsigned short* data, long long index) {
    return half_to_float(data[index]);
}

__device__ __forceinline__ void store_float(float* data, long long index, float value) {
    data[index] = value;
}

__device__ __forceinline__ void store_float(unsigned short* data, long long index, float value) {
    data[index] = float_to_half(value);
}
