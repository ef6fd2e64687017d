//! Audio decoding, resampling and speech recognition with whisper.cpp.
