/**
 * The GPU backend: CUDA C kernels compiled to PTX by nvcc and loaded through JCuda's driver API,
 * and NCCL through JavaCPP presets. Builds on machines with no GPU; its tests carry {@code @Tag("gpu")}.
 * Filled by a later issue.
 */
package dev.baton.cuda;
