// Preloaded (--require) into the children when the bench profiles them: SIGTERM then ends the
// process with a normal exit, which is when --cpu-prof writes its profile.
process.prependListener('SIGTERM', () => process.exit(0));
