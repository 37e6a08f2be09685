// Tiny design for yosys `stat` parser tests: a multiply-accumulate lane, a small
// distributed RAM (LUTRAM on xc7), a block RAM and a counter (carry chain).
module mac_lane (
    input  wire               clk,
    input  wire               clear,
    input  wire signed [7:0]  a,
    input  wire signed [7:0]  b,
    output reg  signed [19:0] acc
);
    reg signed [15:0] product;
    always @(posedge clk) begin
        product <= a * b;
        acc <= clear ? 20'sd0 : acc + product;
    end
endmodule

module tiny_mac (
    input  wire        clk,
    input  wire        clear,
    input  wire        we,
    input  wire [3:0]  lut_addr,
    input  wire [7:0]  lut_wdata,
    input  wire [9:0]  bram_addr,
    input  wire [15:0] bram_wdata,
    input  wire signed [7:0] b,
    output wire signed [19:0] acc,
    output reg  [15:0] bram_rdata,
    output reg  [11:0] count,
    output reg         parity
);
    reg [7:0]  small_mem [0:15];
    reg [15:0] big_mem [0:1023];
    wire signed [7:0] a = small_mem[lut_addr];

    always @(posedge clk) begin
        if (we) small_mem[lut_addr] <= lut_wdata;
        if (we) big_mem[bram_addr] <= bram_wdata;
        bram_rdata <= big_mem[bram_addr];
        count <= count + 12'd1;
        parity <= clear ? 1'b1 : ^{count, bram_rdata, b};
    end

    mac_lane lane0 (.clk(clk), .clear(clear), .a(a), .b(b), .acc(acc));
endmodule
