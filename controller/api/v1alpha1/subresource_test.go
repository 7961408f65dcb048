package v1alpha1_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/gatehouse-dev/gatehouse/controller/api/v1alpha1"
)

// checkStoredSpec reads obj back and checks that its spec is base after a
// rejected update, or the updated obj.Spec after an accepted one.
func checkStoredSpec(t *testing.T, c client.Client, obj *v1alpha1.OAuthClient, base v1alpha1.OAuthClientSpec, wantErr []string) {
	t.Helper()
	want := obj.Spec
	if len(wantErr) > 0 {
		want = base
	}
	var got v1alpha1.OAuthClient
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(obj), &got); err != nil {
		t.Fatalf("get: %v", err)
	}
	if diff := cmp.Diff(want, got.Spec); diff != "" {
		t.Errorf("stored spec mismatch (-want +got):\n%s", diff)
	}
}

// testStatusSubresource writes status through the status client and checks
// that it is stored, that a status write leaves the spec alone, and that a
// main-resource update leaves the status alone.
func testStatusSubresource(t *testing.T, c client.Client) {
	ctx := t.Context()
	const namespace = "status-subresource"
	createNamespace(t, c, namespace)

	obj := &v1alpha1.OAuthClient{Spec: confidentialSpec()}
	obj.Namespace, obj.Name = namespace, "worker"
	if err := c.Create(ctx, obj); err != nil {
		t.Fatalf("create: %v", err)
	}

	now := metav1.NewTime(time.Now().Truncate(time.Second))
	want := v1alpha1.OAuthClientStatus{
		ObservedGeneration: obj.Generation,
		ClientID:           "status-subresource/worker",
		SecretName:         obj.CredentialsSecretName(),
		LastRotationTime:   &now,
	}
	meta.SetStatusCondition(&want.Conditions, metav1.Condition{
		Type:               v1alpha1.ConditionReady,
		Status:             metav1.ConditionTrue,
		Reason:             v1alpha1.ReasonProvisioned,
		Message:            "credentials Secret and registration match the spec",
		ObservedGeneration: obj.Generation,
		LastTransitionTime: now,
	})
	obj.Status = want
	obj.Spec.Scopes = append(obj.Spec.Scopes, "ignored:by-status-write")
	if err := c.Status().Update(ctx, obj); err != nil {
		t.Fatalf("update status: %v", err)
	}

	got := getClient(t, c, obj)
	if diff := cmp.Diff(want, got.Status, timeEqual()); diff != "" {
		t.Errorf("status after status update mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(confidentialSpec(), got.Spec); diff != "" {
		t.Errorf("status update changed the spec (-want +got):\n%s", diff)
	}

	got.Status = v1alpha1.OAuthClientStatus{}
	got.Spec.AccessTokenTTL = duration(5 * time.Minute)
	if err := c.Update(ctx, got); err != nil {
		t.Fatalf("update spec: %v", err)
	}
	after := getClient(t, c, obj)
	if diff := cmp.Diff(want, after.Status, timeEqual()); diff != "" {
		t.Errorf("spec update changed the status (-want +got):\n%s", diff)
	}
	if after.Generation != obj.Generation+1 {
		t.Errorf("generation after spec update: got %d, want %d", after.Generation, obj.Generation+1)
	}
}

// timeEqual compares metav1.Time values by instant, because the API server
// stores them in whole seconds and in UTC.
func timeEqual() cmp.Option {
	return cmp.Comparer(func(a, b metav1.Time) bool { return a.Equal(&b) })
}

// getClient reads obj's current state from the API server.
func getClient(t *testing.T, c client.Client, obj *v1alpha1.OAuthClient) *v1alpha1.OAuthClient {
	t.Helper()
	var got v1alpha1.OAuthClient
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(obj), &got); err != nil {
		t.Fatalf("get %s/%s: %v", obj.Namespace, obj.Name, err)
	}
	return &got
}

// testPrinterColumns reads the installed CRD back from the API server and
// checks its printer columns, short name and status subresource.
func testPrinterColumns(t *testing.T, c client.Client) {
	var crd apiextensionsv1.CustomResourceDefinition
	if err := c.Get(t.Context(), client.ObjectKey{Name: "oauthclients.gatehouse.dev"}, &crd); err != nil {
		t.Fatalf("get CRD: %v", err)
	}
	if len(crd.Spec.Versions) != 1 {
		t.Fatalf("got %d CRD versions, want 1", len(crd.Spec.Versions))
	}
	version := crd.Spec.Versions[0]

	wantColumns := []apiextensionsv1.CustomResourceColumnDefinition{
		{Name: "Client ID", Type: "string", JSONPath: ".status.clientID"},
		{Name: "Grants", Type: "string", JSONPath: ".spec.grantTypes"},
		{Name: "Ready", Type: "string", JSONPath: `.status.conditions[?(@.type=="Ready")].status`},
		{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
	}
	if diff := cmp.Diff(wantColumns, version.AdditionalPrinterColumns); diff != "" {
		t.Errorf("printer columns mismatch (-want +got):\n%s", diff)
	}
	if version.Subresources == nil || version.Subresources.Status == nil {
		t.Errorf("got subresources %+v, want status enabled", version.Subresources)
	}
	if diff := cmp.Diff([]string{"oac"}, crd.Spec.Names.ShortNames); diff != "" {
		t.Errorf("short names mismatch (-want +got):\n%s", diff)
	}
	if crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
		t.Errorf("got scope %s, want %s", crd.Spec.Scope, apiextensionsv1.NamespaceScoped)
	}
}

// testSamples creates every sample in config/samples and checks that the
// API server accepts it unchanged.
func testSamples(t *testing.T, c client.Client) {
	paths, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	if err != nil {
		t.Fatalf("list samples: %v", err)
	}
	if len(paths) < 2 {
		t.Fatalf("got %d samples in %s, want at least 2", len(paths), samplesDir)
	}

	namespaces := map[string]bool{}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			obj := readSample(t, path)
			if ns := obj.GetNamespace(); !namespaces[ns] {
				createNamespace(t, c, ns)
				namespaces[ns] = true
			}
			wantSpec := runtime.DeepCopyJSONValue(obj.Object["spec"])
			if err := c.Create(t.Context(), obj); err != nil {
				t.Fatalf("create sample: got error %v, want nil", err)
			}
			if diff := cmp.Diff(wantSpec, obj.Object["spec"]); diff != "" {
				t.Errorf("stored sample spec differs from the file (-file +stored):\n%s", diff)
			}
		})
	}
}

// readSample decodes one YAML sample file into an unstructured object.
func readSample(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &obj.Object); err != nil {
		t.Fatalf("decode sample %s: %v", path, err)
	}
	if obj.GetNamespace() == "" {
		t.Fatalf("sample %s has no metadata.namespace", path)
	}
	return obj
}

// testPrintedTable requests from the API server the table that kubectl get
// prints and checks that the printer columns render the object's fields.
func testPrintedTable(t *testing.T, c client.Client, cfg *rest.Config) {
	ctx := t.Context()
	const namespace = "printed-table"
	createNamespace(t, c, namespace)

	obj := &v1alpha1.OAuthClient{Spec: publicSpec()}
	obj.Namespace, obj.Name = namespace, "cli"
	if err := c.Create(ctx, obj); err != nil {
		t.Fatalf("create: %v", err)
	}
	obj.Status.ClientID = "printed-table/cli"
	meta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonSecretConflict,
		Message: "Secret cli-oauth exists and is not owned by this OAuthClient",
	})
	if err := c.Status().Update(ctx, obj); err != nil {
		t.Fatalf("update status: %v", err)
	}

	table := getTable(t, cfg, "/apis/gatehouse.dev/v1alpha1/namespaces/printed-table/oauthclients/cli")
	var columns []string
	for _, col := range table.ColumnDefinitions {
		columns = append(columns, col.Name)
	}
	if diff := cmp.Diff([]string{"Name", "Client ID", "Grants", "Ready", "Age"}, columns); diff != "" {
		t.Errorf("table columns mismatch (-want +got):\n%s", diff)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("got %d table rows, want 1", len(table.Rows))
	}
	wantCells := []any{"cli", "printed-table/cli", `["password","refresh_token"]`, "False"}
	if diff := cmp.Diff(wantCells, table.Rows[0].Cells[:4]); diff != "" {
		t.Errorf("table cells mismatch (-want +got):\n%s", diff)
	}
}

// getTable fetches path from the API server as a meta.k8s.io/v1 Table, the
// form in which kubectl get requests objects.
func getTable(t *testing.T, cfg *rest.Config, path string) *metav1.Table {
	t.Helper()
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatalf("create HTTP client: %v", err)
	}
	target, err := url.JoinPath(cfg.Host, path)
	if err != nil {
		t.Fatalf("join %s and %s: %v", cfg.Host, path, err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
	if err != nil {
		t.Fatalf("create request: %v", err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("get %s: %v", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("get %s: got status %d, want 200: %s", target, resp.StatusCode, body)
	}
	var table metav1.Table
	if err := json.NewDecoder(resp.Body).Decode(&table); err != nil {
		t.Fatalf("decode table: %v", err)
	}
	return &table
}
