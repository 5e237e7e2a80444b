package eval

import (
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

const curvesHeader = "update,version,env_steps,wall_seconds,steps_per_second,episodes,return_mean,return_min,return_max,episode_length," +
	"policy_loss,value_loss,entropy,approx_kl,clip_fraction,explained_variance,grad_norm,learning_rate,skipped\n"

func TestReadProgress(t *testing.T) {
	tests := []struct {
		name    string
		csv     string
		wantErr string
		wantIs  error
		check   func(t *testing.T, pr progress)
	}{
		{name: "empty file", csv: "", wantIs: ErrNoProgress},
		{name: "header only", csv: curvesHeader, wantIs: ErrNoProgress},
		{name: "missing column", csv: "update,env_steps\n1,2\n", wantErr: `lacks column "steps_per_second"`},
		{name: "bad env steps", csv: curvesHeader + "1,1,x,0.5,4000,0,,,,,0,0,0,0,0,0,0,0,0\n", wantErr: "line 2: bad env_steps"},
		{name: "bad value", csv: curvesHeader + "1,1,10,0.5,4000,0,,,,,0,zz,0,0,0,0,0,0,0\n", wantErr: "line 2: bad value_loss"},
		{
			name: "empty fields add no point",
			csv: curvesHeader +
				"1,1,100,0.5,4000,0,,,,,-0.1,5,2.7,0.01,0.1,,1,0.0003,0\n" +
				"2,2,200,1.0,4100,3,-10,-20,-1,50,-0.2,4,2.6,0.02,0.2,0.5,1,0.0003,0\n",
			check: func(t *testing.T, pr progress) {
				if got := pr["return_mean"]; len(got) != 1 || got[0] != (plotter.XY{X: 200, Y: -10}) {
					t.Errorf("return_mean %v, want one point (200, -10)", got)
				}
				if got := pr["explained_variance"]; len(got) != 1 || got[0].Y != 0.5 {
					t.Errorf("explained_variance %v, want one point 0.5", got)
				}
				if got := pr["entropy"]; len(got) != 2 || got[1] != (plotter.XY{X: 200, Y: 2.6}) {
					t.Errorf("entropy %v, want two points ending (200, 2.6)", got)
				}
			},
		},
		{
			name: "resumed run replaces repeated steps",
			csv: curvesHeader +
				"1,1,100,0.5,4000,1,-30,-30,-30,10,0,0,2.7,0,0,0,0,0,0\n" +
				"2,2,200,1.0,4000,1,-20,-20,-20,10,0,0,2.6,0,0,0,0,0,0\n" +
				"3,3,300,1.5,4000,1,-10,-10,-10,10,0,0,2.5,0,0,0,0,0,0\n" +
				"3,3,200,0.5,4000,1,-15,-15,-15,10,0,0,2.4,0,0,0,0,0,0\n" +
				"4,4,300,1.0,4000,1,-5,-5,-5,10,0,0,2.3,0,0,0,0,0,0\n",
			check: func(t *testing.T, pr progress) {
				want := plotter.XYs{{X: 100, Y: -30}, {X: 200, Y: -15}, {X: 300, Y: -5}}
				got := pr["return_mean"]
				if len(got) != len(want) {
					t.Fatalf("return_mean %v, want %v", got, want)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("return_mean %v, want %v", got, want)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, err := readProgress(strings.NewReader(tt.csv))
			switch {
			case tt.wantIs != nil:
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("err %v, want %v", err, tt.wantIs)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, pr)
			}
		})
	}
}

func TestReturnBand(t *testing.T) {
	lo := plotter.XYs{{X: 1, Y: -5}, {X: 2, Y: -4}}
	hi := plotter.XYs{{X: 1, Y: 5}, {X: 2, Y: 6}}
	got := returnBand(lo, hi)
	want := plotter.XYs{{X: 1, Y: 5}, {X: 2, Y: 6}, {X: 2, Y: -4}, {X: 1, Y: -5}}
	if len(got) != len(want) {
		t.Fatalf("band %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("band %v, want %v", got, want)
		}
	}
	if returnBand(lo[:1], hi[:1]) != nil {
		t.Error("band of one point, want nil")
	}
}

func TestFormatSteps(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{0, "0"}, {500, "500"}, {1500, "1.5k"}, {200000, "200k"}, {2e6, "2M"}, {1.25e6, "1.25M"}} {
		if got := formatSteps(c.v); got != c.want {
			t.Errorf("formatSteps(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestWriteCurves(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "progress.csv")
	var b strings.Builder
	b.WriteString(curvesHeader)
	// The first rows have no finished episode yet; one column never has data.
	b.WriteString("1,1,2048,0.5,4000,0,,,,,-0.02,40,2.7,0.008,0.12,,14,0.0003,0\n")
	b.WriteString("2,2,4096,1.0,4100,12,-30,-90,-5,30,-0.03,19,2.6,0.012,0.21,,2.6,0.0003,0\n")
	b.WriteString("3,3,6144,1.5,4200,30,-20,-80,2,45,-0.01,10,2.5,0.01,0.15,,2.1,0.0003,0\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "curves")
	paths, err := WriteCurves(path, out)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{CurveReturnFile, CurveLengthFile, CurvePPOFile, CurveThroughputFile}
	if len(paths) != len(wantFiles) {
		t.Fatalf("wrote %v, want %d files", paths, len(wantFiles))
	}
	for i, name := range wantFiles {
		if paths[i] != filepath.Join(out, name) {
			t.Errorf("path %d = %s, want %s", i, paths[i], filepath.Join(out, name))
		}
		f, err := os.Open(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s is not a PNG: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 700 || b.Dy() < 400 {
			t.Errorf("%s is %v, too small to read", name, b)
		}
	}

	if _, err := WriteCurves(filepath.Join(dir, "missing.csv"), out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err %v, want os.ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte(curvesHeader), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteCurves(path, out); !errors.Is(err, ErrNoProgress) {
		t.Errorf("header only: err %v, want ErrNoProgress", err)
	}
}

func FuzzReadProgress(f *testing.F) {
	f.Add(curvesHeader + "1,1,2048,0.5,4000,0,,,,,-0.02,40,2.7,0.008,0.12,,14,0.0003,0\n")
	f.Add(curvesHeader + "1,1,NaN,Inf,,,,,,,,,,,,,,,\n")
	f.Add("env_steps\n1\n")
	f.Fuzz(func(t *testing.T, data string) {
		pr, err := readProgress(strings.NewReader(data))
		if err != nil {
			return
		}
		for name, xys := range pr {
			for i := 1; i < len(xys); i++ {
				if xys[i].X <= xys[i-1].X {
					t.Fatalf("%s: env steps not increasing: %v", name, xys)
				}
			}
		}
	})
}
