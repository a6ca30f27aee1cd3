package dev.baton.cuda;

import dev.baton.engine.EngineException;

/** The GPU backend cannot run here: no kernels in the build, no CUDA driver, or no such device. The message says which. */
public final class CudaUnavailableException extends EngineException {

    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String message) {
        super(message);
    }

    public CudaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
