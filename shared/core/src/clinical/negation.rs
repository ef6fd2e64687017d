//! TODO(owner): negation stage.
