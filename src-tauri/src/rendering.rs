//! How WebKitGTK draws on a machine without a GPU.
//!
//! With no GPU to render with, WebKitGTK still starts Mesa's software OpenGL (llvmpipe, with
//! LLVM's JIT) in the app's own process: GTK probes GL when it opens the display, and WebKit
//! asks EGL which render device the page should use. That costs about 50 MB of resident
//! memory for nothing, since the page is then drawn with the CPU anyway. On such a machine
//! the app tells GTK not to use GL and WebKit that there is no render device, so both draw
//! with the CPU from the start. A machine with a GPU (a DRM render node) is left as it is,
//! and so is any variable the user set.

/// The environment variables to set before GTK starts: `has_render_node` tells whether the
/// machine has a GPU, `is_set` whether the user already set a variable.
pub fn cpu_rendering_defaults(
    has_render_node: bool,
    is_set: impl Fn(&str) -> bool,
) -> Vec<(&'static str, &'static str)> {
    if has_render_node {
        return Vec::new();
    }
    [
        // GTK then reports GL as unavailable, and WebKit turns hardware acceleration off.
        ("GDK_GL", "disable"),
        // No device to ask EGL about: WebKit skips starting EGL in this process.
        ("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/null"),
    ]
    .into_iter()
    .filter(|(name, _)| !is_set(name))
    .collect()
}

/// Whether this machine has a GPU render node (`/dev/dri/renderD*`).
fn has_render_node() -> bool {
    std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// Applies [`cpu_rendering_defaults`] to this process. Call it first thing, before any thread
/// starts (setting the environment is not thread-safe).
pub fn apply_cpu_rendering_defaults() {
    if !cfg!(target_os = "linux") {
        return;
    }
    for (name, value) in
        cpu_rendering_defaults(has_render_node(), |name| std::env::var_os(name).is_some())
    {
        std::env::set_var(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::cpu_rendering_defaults;

    #[test]
    fn without_a_gpu_gl_is_turned_off_unless_the_user_chose() {
        assert_eq!(
            cpu_rendering_defaults(false, |_| false),
            [
                ("GDK_GL", "disable"),
                ("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/null")
            ]
        );
        assert_eq!(
            cpu_rendering_defaults(false, |name| name == "GDK_GL"),
            [("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/null")]
        );
        assert!(cpu_rendering_defaults(true, |_| false).is_empty());
    }
}
