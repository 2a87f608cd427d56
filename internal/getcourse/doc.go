// Package getcourse talks to the GetCourse "legacy" API: the Export API
// (GET {base}/account/...) used to find paid students and to test the
// connection, and the Import API (POST {base}/users, {base}/deals) used to push
// students and deals. It also subscribes our intake to order events through
// the Tech API (POST /pl/api/v1/set-uri: SetURI, SubscribeOrders), which needs
// a developer key GetCourse issues to integrators.
//
// The API has quirks that every caller would otherwise rediscover:
//
//   - errors arrive as HTTP 200 with success:false, an error_code, or an error
//     hidden under result; booleans arrive as true, "true", 1 or "1";
//   - an unknown account answers 404 with the plain text "Wrong subdomain";
//   - an account with its own domain answers with a redirect, and following it
//     would turn an import POST into a bodyless GET and send the key to another
//     host, so redirects are reported instead;
//   - the Export API allows 100 requests per account per two hours, status polls
//     included, and builds one export at a time.
//
// Every failure is an *Error with a Kind; Error() is English for logs and
// Russian() tells a school owner what to do. The API key (and the developer
// key) never appears in errors or in the Call records handed to a Recorder.
package getcourse
