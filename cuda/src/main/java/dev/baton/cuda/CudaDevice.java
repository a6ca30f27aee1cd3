package dev.baton.cuda;

import static jcuda.driver.JCudaDriver.cuCtxCreate;
import static jcuda.driver.JCudaDriver.cuCtxDestroy;
import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD8;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * One GPU through CUDA's driver API (JCuda): a context, {@link KernelImage}'s module loaded into it, device memory
 * and kernel launches. {@link #probe()} says, without failing, whether a GPU can be used here and why not.
 * Not thread-safe: one owner (a node's engine loop) at a time.
 */
public final class CudaDevice implements Gpu {

    /** What the driver says about a device. */
    public record Info(int ordinal, String name, long memoryBytes, int multiprocessors, int major, int minor) {}

    /** Whether a GPU can be used: the devices found, or the reason none can. */
    public record Availability(List<Info> devices, String reason) {
        public boolean available() {
            return reason == null;
        }
    }

    private static Availability probed;

    private final Info info;
    private final CUcontext context = new CUcontext();
    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final List<CUdeviceptr> allocations = new ArrayList<>();
    private boolean closed;

    /**
     * Loads the driver and lists the devices, once. Never throws: no kernels in the build, no libcuda (no NVIDIA
     * driver), a failing cuInit or no device each become the reason.
     */
    public static synchronized Availability probe() {
        if (probed == null) {
            probed = doProbe();
        }
        return probed;
    }

    private static Availability doProbe() {
        var noKernels = KernelImage.unavailableReason();
        if (noKernels.isPresent()) {
            return new Availability(List.of(), "the GPU kernels were not built: " + noKernels.get());
        }
        try {
            JCudaDriver.setExceptionsEnabled(true);
            cuInit(0);
            int[] count = new int[1];
            cuDeviceGetCount(count);
            if (count[0] == 0) {
                return new Availability(List.of(), "the CUDA driver reports no GPU");
            }
            List<Info> devices = new ArrayList<>();
            for (int i = 0; i < count[0]; i++) {
                devices.add(info(i));
            }
            return new Availability(List.copyOf(devices), null);
        } catch (LinkageError e) {
            return new Availability(List.of(), "no CUDA driver (libcuda.so.1) could be loaded: " + firstLine(e));
        } catch (RuntimeException e) {
            return new Availability(List.of(), "the CUDA driver failed to start: " + firstLine(e));
        }
    }

    /** JCuda's load errors carry every attempt's stack trace in the message: the first line says what failed. */
    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage()).strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl).strip();
    }

    private static Info info(int ordinal) {
        CUdevice d = new CUdevice();
        cuDeviceGet(d, ordinal);
        byte[] name = new byte[256];
        cuDeviceGetName(name, name.length, d);
        long[] mem = new long[1];
        cuDeviceTotalMem(mem, d);
        int[] v = new int[1];
        cuDeviceGetAttribute(v, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, d);
        int sms = v[0];
        cuDeviceGetAttribute(v, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d);
        int major = v[0];
        cuDeviceGetAttribute(v, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d);
        int end = 0;
        while (end < name.length && name[end] != 0) {
            end++;
        }
        return new Info(ordinal, new String(name, 0, end, StandardCharsets.US_ASCII), mem[0], sms, major, v[0]);
    }

    /** Opens device {@code ordinal} ({@code --device N}): a context with the kernels loaded. */
    public static CudaDevice open(int ordinal) {
        Availability a = probe();
        if (!a.available()) {
            throw new CudaUnavailableException(a.reason());
        }
        if (ordinal < 0 || ordinal >= a.devices().size()) {
            throw new CudaUnavailableException("no GPU " + ordinal + ": the driver reports " + a.devices().size());
        }
        Info info = a.devices().get(ordinal);
        if (info.major() < 9) {
            throw new CudaUnavailableException("GPU " + ordinal + " (" + info.name() + ") has compute capability "
                    + info.major() + "." + info.minor() + "; the kernels are built for 9.0 and newer");
        }
        return new CudaDevice(info, KernelImage.load());
    }

    private CudaDevice(Info info, KernelImage image) {
        this.info = info;
        CUdevice d = new CUdevice();
        cuDeviceGet(d, info.ordinal());
        cuCtxCreate(context, 0, d);
        cuModuleLoadData(module, info.major() == 9 && info.minor() == 0 ? image.cubin() : image.ptx());
    }

    @Override
    public Info info() {
        return info;
    }

    /**
     * Makes this device's context the calling thread's (a CUDA context is current per thread: the engine loop's
     * thread is not the one that opened the device). Cheap; called at the start of each step.
     */
    @Override
    public void makeCurrent() {
        cuCtxSetCurrent(context);
    }

    /** A kernel of the module, looked up once. */
    public CUfunction function(String name) {
        return functions.computeIfAbsent(name, n -> {
            CUfunction f = new CUfunction();
            cuModuleGetFunction(f, module, n);
            return f;
        });
    }

    @Override
    public DeviceMemory alloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        cuMemAlloc(p, Math.max(1, bytes));
        cuMemsetD8(p, (byte) 0, Math.max(1, bytes));
        allocations.add(p);
        return new DeviceMemory(bytes, p);
    }

    private static CUdeviceptr ptr(DeviceMemory m) {
        return (CUdeviceptr) m.handle();
    }

    /** Copies {@code src} to {@code dst + offset} in pieces of at most 1 GiB. */
    @Override
    public void copy(DeviceMemory dst, long offset, MemorySegment src) {
        long size = src.byteSize();
        if (offset < 0 || offset + size > dst.bytes()) {
            throw new IllegalArgumentException("a copy of " + size + " bytes at " + offset + " into " + dst.bytes());
        }
        for (long at = 0; at < size; at += 1L << 30) {
            long n = Math.min(1L << 30, size - at);
            MemorySegment piece = src.asSlice(at, n);
            Pointer from = piece.isNative() ? Pointer.to(piece.asByteBuffer()) : Pointer.to(piece.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            cuMemcpyHtoD(ptr(dst).withByteOffset(offset + at), from, n);
        }
    }

    @Override
    public void copy(DeviceMemory dst, int[] src, int count) {
        cuMemcpyHtoD(ptr(dst), Pointer.to(src), 4L * count);
    }

    @Override
    public void copy(DeviceMemory dst, float[] src, int count) {
        cuMemcpyHtoD(ptr(dst), Pointer.to(src), 4L * count);
    }

    @Override
    public void download(float[] dst, DeviceMemory src, int count) {
        cuMemcpyDtoH(Pointer.to(dst), ptr(src), 4L * count);
    }

    @Override
    public void download(int[] dst, DeviceMemory src, int count) {
        cuMemcpyDtoH(Pointer.to(dst), ptr(src), 4L * count);
    }

    @Override
    public void download(byte[] dst, DeviceMemory src, long count) {
        cuMemcpyDtoH(Pointer.to(dst), ptr(src), count);
    }

    /**
     * Launches {@code l} with arguments in the kernel's order: a {@link DeviceMemory} (or null for a null
     * pointer), an Integer, Long, Float or Double, or a byte[] for a struct passed by value.
     */
    @Override
    public void launch(Launch l, Object... args) {
        Pointer[] params = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            params[i] = switch (args[i]) {
                case null -> Pointer.to(new long[] {0});
                case DeviceMemory m -> Pointer.to(ptr(m));
                case Integer v -> Pointer.to(new int[] {v});
                case Long v -> Pointer.to(new long[] {v});
                case Float v -> Pointer.to(new float[] {v});
                case Double v -> Pointer.to(new double[] {v});
                case byte[] v -> Pointer.to(v);
                default -> throw new IllegalArgumentException("argument " + i + " of " + l.kernel() + ": " + args[i]);
            };
        }
        cuLaunchKernel(function(l.kernel()), l.gridX(), l.gridY(), l.gridZ(), l.blockX(), 1, 1, l.sharedBytes(), null,
                Pointer.to(params), null);
    }

    @Override
    public KernelCall prepare(String kernel, int argCount) {
        return new Call(function(kernel), argCount);
    }

    /** Arguments in holders JCuda reads at each launch: setting one writes into its holder, launching allocates nothing. */
    private static final class Call implements KernelCall {
        private final CUfunction function;
        private final Pointer[] params;
        private final Object[] holders;
        private Pointer kernelParams;

        Call(CUfunction function, int argCount) {
            this.function = function;
            this.params = new Pointer[argCount];
            this.holders = new Object[argCount];
        }

        private void slot(int i, Object holder, Pointer p) {
            holders[i] = holder;
            params[i] = p;
            kernelParams = null;
        }

        @Override
        public KernelCall set(int i, DeviceMemory m) {
            if (holders[i] != m || params[i] == null) {
                slot(i, m, m == null ? Pointer.to(new long[] {0}) : Pointer.to(ptr(m)));
            }
            return this;
        }

        @Override
        public KernelCall set(int i, int v) {
            if (holders[i] instanceof int[] a) {
                a[0] = v;
            } else {
                int[] a = {v};
                slot(i, a, Pointer.to(a));
            }
            return this;
        }

        @Override
        public KernelCall set(int i, long v) {
            if (holders[i] instanceof long[] a) {
                a[0] = v;
            } else {
                long[] a = {v};
                slot(i, a, Pointer.to(a));
            }
            return this;
        }

        @Override
        public KernelCall set(int i, float v) {
            if (holders[i] instanceof float[] a) {
                a[0] = v;
            } else {
                float[] a = {v};
                slot(i, a, Pointer.to(a));
            }
            return this;
        }

        @Override
        public KernelCall set(int i, double v) {
            if (holders[i] instanceof double[] a) {
                a[0] = v;
            } else {
                double[] a = {v};
                slot(i, a, Pointer.to(a));
            }
            return this;
        }

        @Override
        public KernelCall set(int i, byte[] struct) {
            if (holders[i] != struct) {
                slot(i, struct, Pointer.to(struct));
            }
            return this;
        }

        @Override
        public void launch(int gridX, int gridY, int gridZ, int block) {
            if (kernelParams == null) {
                for (int i = 0; i < params.length; i++) {
                    if (params[i] == null) {
                        throw new IllegalStateException("kernel argument " + i + " was never set");
                    }
                }
                kernelParams = Pointer.to(params);
            }
            cuLaunchKernel(function, gridX, gridY, gridZ, block, 1, 1, 0, null, kernelParams, null);
        }
    }

    @Override
    public void synchronize() {
        cuCtxSynchronize();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        cuCtxSetCurrent(context);
        for (CUdeviceptr p : allocations) {
            cuMemFree(p);
        }
        allocations.clear();
        cuCtxDestroy(context);
    }
}
