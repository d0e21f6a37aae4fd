// Public surface of the file stores: the output store (OUTPUT_DIR, kept task outputs) and the upload
// store (UPLOAD_DIR, reference images). Used by the api (uploads, serving) and the processor (keeping).
export { UPLOAD_IMAGE_TYPES, sniffImageType, outputContentType, type UploadImageType } from './content-type.js';
export { FileTooLargeError, outputFilePath, removeTaskOutputs, uploadFilePath, writeToTemporary, commitFile, createDir, discardFile, syncDir, type WrittenFile } from './files.js';
export { DownloadError, downloadToTemporary, type DownloadOptions, type DownloadedFile } from './download.js';
export { AllowedHosts, HostNotAllowedError } from './allowed-hosts.js';
export { storeEnvSchema, storeDirsFromEnv, type StoreDirs } from './env.js';
