#NEXUS
[ID: 1111111111]
[Param: tree]
begin trees;
   translate
       1 A,
       2 B,
       3 C,
       4 D;
   tree gen.0 [&B IgrBranchlens{all}] = [&R] [&clockrate=1.000000000000000e+00] ((1:0.5,2:0.5):0.5,(3:0.75,4:0.75):0.25);
   tree gen.100 [&E IgrBrlens] = [&R] [&clockrate=9.000000000000000e-01] (((1:0.25,3:0.25):0.25,2:0.5):0.5,4:1.0);
end;
