"""Where a training step of the cpu engine's LSTM goes (T=100, B=64, I=128, H=256).

Times each part of the forward and backward separately, with the FLOP rate of
every product, so the sum can be compared with the matmul ceiling:

    .venv/bin/python benchmarks/bench_cpu_breakdown.py [threads]

With 1 thread it uses CPU time (robust on a shared machine), otherwise wall time.
"""
import torch, time, lstmkit, sys
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv)>1 else 1)
from lstmkit.kernels.cpu import _build
from lstmkit.kernels.cpu.matmul import prepare_weight, linear, mm_tn
ext=_build.load_extension()
clock = time.process_time if torch.get_num_threads()==1 else time.perf_counter
def bench(f, n=7):
    for _ in range(2): f()
    ts=[]
    for _ in range(n):
        t=clock(); f(); ts.append(clock()-t)
    ts.sort(); return ts[len(ts)//2]*1e3
T,B,I,H=100,64,128,256; G=4*H
x=torch.randn(T*B,I); wih=torch.randn(G,I)*0.06; whh=torch.randn(G,H)*0.06
xp=torch.randn(T,B,G); h0=torch.zeros(B,H); c0=torch.zeros(B,H)
wp=prepare_weight(whh,B); wtp=prepare_weight(whh.t(),B)
hh=torch.randn(B,H); dg=torch.randn(B,G)
r={}
r["input projection (T*B,I)x(I,4H)"]=bench(lambda: linear(x,wih))
r["fwd loop total"]=bench(lambda: ext.lstm_forward(xp,h0,c0,wp,None,None,None,None,0.,None,0.,None,None,None,None,None,None,1e-5,True))
r["  of which T x recurrent product (B,H)x(H,4H)"]=bench(lambda: [linear(hh,wp) for _ in range(T)])
outs=ext.lstm_forward(xp,h0,c0,wp,None,None,None,None,0.,None,0.,None,None,None,None,None,None,1e-5,True)
out,hT,cT,gates,cseq,cn,th,hin=outs[:8]
dout=torch.randn(T,B,H)
r["bwd loop total"]=bench(lambda: ext.lstm_backward(dout,torch.zeros(B,H),torch.zeros(B,H),gates,cseq,cn,th,wtp,None,None,None,None,0.,None,0.,None,None,None,None,None,None,None,None,None,None))
r["  of which T x recurrent product (B,4H)x(4H,H)"]=bench(lambda: [linear(dg,wtp) for _ in range(T)])
dA=torch.randn(T*B,G)
r["dX = dA W_ih"]=bench(lambda: linear(dA, wih.t().contiguous()))
r["dW_ih = dA^T X"]=bench(lambda: mm_tn(dA,x))
r["dW_hh = dA^T H"]=bench(lambda: mm_tn(dA,hin.view(T*B,H)))
tot=sum(v for k,v in r.items() if not k.startswith("  "))
flops={"input projection (T*B,I)x(I,4H)":2*T*B*I*G,"  of which T x recurrent product (B,H)x(H,4H)":2*T*B*H*G,"  of which T x recurrent product (B,4H)x(4H,H)":2*T*B*H*G,"dX = dA W_ih":2*T*B*I*G,"dW_ih = dA^T X":2*T*B*I*G,"dW_hh = dA^T H":2*T*B*H*G}
print(f"threads={torch.get_num_threads()}")
for k,v in r.items():
    f=flops.get(k); print(f"{k:48s} {v:7.2f} ms" + (f"  {f/v/1e6:5.0f} GFLOP/s" if f else ""))
print(f"{'sum':48s} {tot:7.2f} ms; matmul FLOPs {sum(flops.values())/1e9:.2f} GFLOP")
