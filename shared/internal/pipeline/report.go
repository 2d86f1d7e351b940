package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/ecr-ptc/ecr-ptc/shared/report"
)

// ReportInputs name the files a report merges: setup's cache report and the builds' metadata files.
type ReportInputs struct {
	SetupReport string   // the JSON of `setup --report-json`; "" for none
	Metadata    []string // build metadata files (buildx build or bake, buildctl)
	// Read reads one of the files (bounded, regular files only); its error is put in a sentence.
	Read func(name string) ([]byte, error)
	// NoFrontend hears of a metadata file from a build that did not use the frontend (may be nil).
	NoFrontend func(name string)
}

// MergeReport merges what the builds resolved into setup's cache report: the build is the ground
// truth, so a fallback there is a fallback in the result. The result is sorted.
func MergeReport(in ReportInputs) (*report.Report, error) {
	rep := &report.Report{}
	if in.SetupReport != "" {
		data, err := in.Read(in.SetupReport)
		if err != nil {
			return nil, fmt.Errorf("cannot read the report: %v", err)
		}
		if err := json.Unmarshal(data, rep); err != nil {
			return nil, fmt.Errorf("%s is not an ecr-ptc report (the JSON of setup --report-json): %v", in.SetupReport, err)
		}
	}
	var builds []report.BuildReport
	for _, f := range in.Metadata {
		data, err := in.Read(f)
		if err != nil {
			return nil, fmt.Errorf("cannot read the metadata file: %v", err)
		}
		b, err := report.ParseMetadata(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		if len(b) == 0 && in.NoFrontend != nil {
			in.NoFrontend(f)
		}
		builds = append(builds, b...)
	}
	report.Merge(rep, builds...)
	rep.Sort()
	return rep, nil
}
