//! TODO(owner): insights stage.
