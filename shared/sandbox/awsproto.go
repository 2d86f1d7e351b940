package sandbox

// Wire helpers for the two AWS protocols the control plane speaks: JSON 1.1 (ECR) and query/XML (STS).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

// maxAPIBody bounds request bodies; ECR's largest input (PutImage's 4 MiB manifest) fits.
const maxAPIBody = 8 << 20

// apiError is an AWS error response: Code is the error shape (JSON __type, query <Code>), Status the
// HTTP status, Server true for a server-side fault (query <Type>Receiver</Type>).
type apiError struct {
	Code    string
	Message string
	Status  int
	Server  bool
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newAPIError(status int, code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: status, Server: status >= 500}
}

// newRequestID returns a UUID-shaped request id like the x-amzn-RequestId AWS sends.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// setCommonHeaders sets the headers every AWS API response carries. Date comes from the sandbox
// clock: the SDK compares it with its own to detect clock skew and corrects its signing time
// (aws-sdk-go-v2 aws/retry clock skew correction), so a sandbox whose clock was moved still works
// with the SDK the way AWS does with a client whose clock is wrong.
func setCommonHeaders(w http.ResponseWriter, d *deps, requestID string) {
	w.Header().Set("Date", d.cfg.Now().UTC().Format(http.TimeFormat))
	w.Header().Set("X-Amzn-Requestid", requestID)
}

// readBody reads a request body up to maxAPIBody.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxAPIBody {
		return nil, fmt.Errorf("request body larger than %d bytes", maxAPIBody)
	}
	return b, nil
}

// --- AWS JSON 1.1 ---

// jsonErrorNamespace is the suffix AWS JSON services put after the error code in X-Amzn-ErrorType;
// the SDK strips everything after ':' (smithy-go awsjson SanitizeErrorCode).
const jsonErrorNamespace = ":http://internal.amazon.com/coral/com.amazonaws.containerregistry.v20150921/"

// writeJSON11 writes a successful JSON 1.1 response.
func writeJSON11(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeJSON11Error(w, newAPIError(http.StatusInternalServerError, "ServerException", "sandbox: cannot encode the response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// writeJSON11Error writes an AWS JSON 1.1 error: the code in both X-Amzn-ErrorType (which the Go SDK
// reads first) and the body's __type (which other SDKs read), the text in "message".
func writeJSON11Error(w http.ResponseWriter, e *apiError) {
	b, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", e.Code+jsonErrorNamespace)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

// epochTime marshals as the JSON protocol's timestamp: epoch seconds with a fraction
// (e.g. 1.700000000123E9 on the wire from ECR; any JSON number decodes the same).
type epochTime time.Time

func (t epochTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	sec := float64(tt.UnixMilli()) / 1000
	return []byte(strconv.FormatFloat(math.Round(sec*1000)/1000, 'f', -1, 64)), nil
}

// epochPtr returns nil for a zero time so that optional timestamps are omitted.
func epochPtr(t time.Time) *epochTime {
	if t.IsZero() {
		return nil
	}
	e := epochTime(t)
	return &e
}

// --- AWS query protocol (STS) ---

const stsXMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// writeQueryXML writes a successful query-protocol response: v is the <Action>Response element.
func writeQueryXML(w http.ResponseWriter, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		writeQueryError(w, newAPIError(http.StatusInternalServerError, "InternalFailure", "sandbox: cannot encode the response: %v", err), "")
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

type queryErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// writeQueryError writes the query protocol's error document:
// <ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/></Error><RequestId/></ErrorResponse>.
func writeQueryError(w http.ResponseWriter, e *apiError, requestID string) {
	var doc queryErrorResponse
	doc.Xmlns = stsXMLNS
	doc.Error.Type = "Sender"
	if e.Server {
		doc.Error.Type = "Receiver"
	}
	doc.Error.Code, doc.Error.Message, doc.RequestID = e.Code, e.Message, requestID
	b, _ := xml.Marshal(doc)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

// --- faults shared by both APIs ---

// maxHold bounds a FaultTimeout: the request is held until the client gives up or this passes.
const maxHold = 30 * time.Second

// hold keeps a request open until its client gives up or maxHold passes (FaultTimeout).
func hold(ctx context.Context) {
	_ = sleepCtx(ctx, maxHold)
}
