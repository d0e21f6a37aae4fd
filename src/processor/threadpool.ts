// Imported first by the task-processor's entry (main.ts), so that it runs before anything uses libuv's
// threadpool, which reads UV_THREADPOOL_SIZE once, at its first use. Keeping outputs queues several
// file-system calls per file (open, writev, fdatasync, close, rename, the folder's fsync) beside the
// downloads of the next files; with libuv's default of 4 threads they wait for each other, and the file
// system's calls are short (a thread each is cheap). An operator's own setting wins.
const KEEPING_THREADPOOL_SIZE = 16;

process.env.UV_THREADPOOL_SIZE ??= String(KEEPING_THREADPOOL_SIZE);
