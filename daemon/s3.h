/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <curl/curl.h>

#include "upload-job.h"

/* Type=s3: a finished file to S3-compatible object storage, signed with
 * AWS Signature Version 4 by libcurl (CURLOPT_AWS_SIGV4):
 *   PUT  {object}                                  files up to MultipartThreshold=
 *   POST {object}?uploads=                         CreateMultipartUpload
 *   PUT  {object}?partNumber=N&uploadId=ID         UploadPart, PartSize= each
 *   POST {object}?uploadId=ID                      CompleteMultipartUpload
 *   DELETE {object}?uploadId=ID                    AbortMultipartUpload, after a failure
 * where {object} is {Endpoint}/{Bucket}/{key} or, with
 * AddressingStyle=virtual, {scheme}://{Bucket}.{host}/{key}.
 *
 * libcurl 7.88 signs what it is given, so: every request carries
 * x-amz-content-sha256 with the real payload hash (else it signs an empty
 * body for a streamed PUT), computed by one read of the file in the upload
 * path (upload-scan.h), which makes the server verify what it stored;
 * queries are written sorted and with '=' ("uploads="); keys are
 * percent-encoded with upper-case hex (curl_easy_escape). */

/* The URL of key in the target's bucket, key already encoded, no query. */
char *s3_object_url(const UploadTarget *t, const char *encoded_key);

/* s3://{Bucket}/{key}: what UploadFinished and ListFiles show. */
char *s3_location(const UploadTarget *t, const char *key);

/* The CompleteMultipartUpload body for these part ETags (numbered from 1). */
char *s3_complete_body(char **etags, size_t n);

/* What the queue keeps across a restart while a multipart upload exists:
 * "{UploadId}\n{key}", so that a restart aborts it before starting anew. */
char *s3_resume_format(const char *upload_id, const char *key);
int s3_resume_parse(const char *resume, char **ret_upload_id, char **ret_key);
