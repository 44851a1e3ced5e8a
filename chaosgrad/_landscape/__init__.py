"""The loss landscape: curvature (Hessian spectra by Lanczos), loss slices and gradient noise."""
